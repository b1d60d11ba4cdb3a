import { describe, expect, it } from 'vitest';
import { makeHub } from './hub-fixture.js';
import { settle } from './memory-port.js';
import type { PushMessage } from '../../../../lib/worker-client.js';
import { LiveQueries } from '../../../../shared-worker/hub/live-queries.js';
import type { RunSql } from '../../../../shared-worker/hub/read-tables.js';

function rowsPushed(pushes: PushMessage[], watchId: string) {
  return pushes.flatMap((m) => (m.kind === 'watch-rows' && m.watchId === watchId ? [m.result.rows] : []));
}

async function setup() {
  const f = await makeHub();
  const a = await f.connectTab('a');
  const b = await f.connectTab('b');
  await a.client.request({ op: 'exec', sql: 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, body TEXT); CREATE TABLE other(x)' });
  return { ...f, a, b };
}

describe('live queries', () => {
  it('answers a watch with the current rows, then pushes new rows after a write from another tab', async () => {
    const { a, b } = await setup();
    await a.client.request({ op: 'exec', sql: "INSERT INTO notes VALUES ('1', 'one')" });
    const first = await b.client.request({ op: 'watch', watchId: 'w', sql: 'SELECT id, body FROM notes ORDER BY id' });
    expect(first.rows).toEqual([{ id: '1', body: 'one' }]);
    await a.client.request({ op: 'exec', sql: "INSERT INTO notes VALUES ('2', 'two')" });
    await settle();
    expect(rowsPushed(b.pushes, 'w')).toEqual([[{ id: '1', body: 'one' }, { id: '2', body: 'two' }]]);
    // the change event reaches every tab, the writer included
    for (const tab of [a, b]) expect(tab.pushes.some((m) => m.kind === 'change' && m.tables.includes('notes'))).toBe(true);
  });

  it('re-runs only watches that read a changed table, and pushes only when the result changed', async () => {
    const { a, b, hub } = await setup();
    await b.client.request({ op: 'watch', watchId: 'notes', sql: 'SELECT count(*) AS n FROM notes' });
    await b.client.request({ op: 'watch', watchId: 'other', sql: 'SELECT count(*) AS n FROM other' });
    await a.client.request({ op: 'exec', sql: 'INSERT INTO other VALUES (1)' });
    await settle();
    await hub.liveQueriesIdle();
    expect(hub.diagnostics().watchReruns).toBe(1);
    expect(rowsPushed(b.pushes, 'other')).toEqual([[{ n: 1 }]]);
    expect(rowsPushed(b.pushes, 'notes')).toEqual([]);
    // a write that leaves the watched result as it was re-runs the watch but pushes nothing
    await a.client.request({ op: 'exec', sql: 'UPDATE other SET x = 1' });
    await settle();
    await hub.liveQueriesIdle();
    expect(hub.diagnostics().watchReruns).toBe(2);
    expect(rowsPushed(b.pushes, 'other')).toHaveLength(1);
  });

  it('finds the tables behind views, joins, indexes and subqueries', async () => {
    const { a, hub } = await setup();
    await a.client.request({ op: 'exec', sql: 'CREATE INDEX notes_body ON notes(body); CREATE VIEW v AS SELECT n.id FROM notes n JOIN other o ON o.x = n.id' });
    await a.client.request({ op: 'watch', watchId: 'view', sql: 'SELECT * FROM v' });
    await a.client.request({ op: 'watch', watchId: 'idx', sql: "SELECT body FROM notes WHERE body > 'a'" });
    await a.client.request({ op: 'watch', watchId: 'sub', sql: 'SELECT (SELECT count(*) FROM other) AS c' });
    const tables = Object.fromEntries(hub.diagnostics().watchedTables.map((w) => [w.watchId, w.tables]));
    expect(tables).toEqual({ view: ['notes', 'other'], idx: ['notes'], sub: ['other'] });
  });

  it('pushes for changes merged from a peer (origin remote)', async () => {
    const { a, replica } = await setup();
    await a.client.request({ op: 'watch', watchId: 'w', sql: 'SELECT body FROM notes' });
    await replica.execRemote("INSERT INTO notes VALUES ('p', 'from a peer')");
    await settle();
    expect(rowsPushed(a.pushes, 'w')).toEqual([[{ body: 'from a peer' }]]);
    expect(a.pushes.some((m) => m.kind === 'change' && m.origin === 'remote')).toBe(true);
  });

  it('reads memory at once for a pass only peer changes started, and through the durable runner otherwise', async () => {
    const calls: string[] = [];
    let n = 0;
    // Enough of SQLite for read-tables.ts: EXPLAIN shows one OpenRead of root page 2 = table t.
    const runner = (name: string): RunSql => async (sql) => {
      if (sql.startsWith('EXPLAIN')) return { columns: ['opcode', 'p2', 'p3'], rows: [{ opcode: 'OpenRead', p2: 2, p3: 0 }] };
      if (sql.includes('rootpage')) return { columns: ['rootpage', 'tbl_name'], rows: [{ rootpage: 2, tbl_name: 't' }] };
      calls.push(name);
      return { columns: ['n'], rows: [{ n: ++n }] };
    };
    const live = new LiveQueries(runner('durable'), () => {}, runner('now'));
    await live.add('tab', 'w', 'SELECT n FROM t');
    calls.length = 0;
    live.markDirty(['t'], false, true);
    await live.idle();
    live.markDirty(['t'], false);
    await live.idle();
    live.markDirty(['t'], false, true);
    live.markDirty(['t'], false);
    await live.idle();
    expect(calls).toEqual(['now', 'durable', 'durable']);
  });

  it('refuses statements that write, and more than one statement', async () => {
    const { a, replica } = await setup();
    await expect(a.client.request({ op: 'watch', watchId: 'x', sql: "INSERT INTO other VALUES (5)" })).rejects.toMatchObject({ code: 'BAD_OP' });
    await expect(a.client.request({ op: 'watch', watchId: 'y', sql: 'SELECT 1; DELETE FROM notes' })).rejects.toMatchObject({ code: 'BAD_OP' });
    await expect(a.client.request({ op: 'watch', watchId: 'z', sql: 'PRAGMA user_version = 7' })).rejects.toMatchObject({ code: 'BAD_OP' });
    await expect(a.client.request({ op: 'watch', watchId: 'q', sql: 'SELECT * FROM missing' })).rejects.toMatchObject({ code: 'SQL' });
    const res = await a.client.request({ op: 'exec', sql: 'SELECT count(*) AS n FROM other' });
    expect(res.rows).toEqual([{ n: 0 }]);
    expect(replica.log.some((s) => s.startsWith('INSERT INTO other VALUES (5)') || s.startsWith('DELETE'))).toBe(false);
  });

  it('forgets the watches of an unsubscribed watch and of a tab that died', async () => {
    const { a, b, hub, liveness } = await setup();
    await a.client.request({ op: 'watch', watchId: 'w1', sql: 'SELECT * FROM notes' });
    await b.client.request({ op: 'watch', watchId: 'w2', sql: 'SELECT * FROM notes' });
    await b.client.request({ op: 'watch', watchId: 'w3', sql: 'SELECT * FROM notes' });
    await b.client.request({ op: 'unwatch', watchId: 'w3' });
    expect(hub.diagnostics().watches).toBe(2);
    liveness.kill('b');
    expect(hub.diagnostics().watches).toBe(1);
    expect(hub.tabCount).toBe(1);
    await a.client.request({ op: 'exec', sql: "INSERT INTO notes VALUES ('1', 'x')" });
    await settle();
    expect(rowsPushed(b.pushes, 'w2')).toEqual([]);
    expect(rowsPushed(a.pushes, 'w1')).toHaveLength(1);
  });

  it('reports a watch whose table was dropped, and resumes when it is recreated', async () => {
    const { a } = await setup();
    await a.client.request({ op: 'watch', watchId: 'w', sql: 'SELECT x FROM other' });
    await a.client.request({ op: 'exec', sql: 'DROP TABLE other' });
    await settle();
    expect(a.pushes.some((m) => m.kind === 'watch-error' && m.watchId === 'w')).toBe(true);
    await a.client.request({ op: 'exec', sql: 'CREATE TABLE other(x); INSERT INTO other VALUES (42)' });
    await settle();
    expect(rowsPushed(a.pushes, 'w').at(-1)).toEqual([{ x: 42 }]);
  });
});

describe('live queries over several tables', () => {
  // The re-run decision is "some table the watch reads changed": a JOIN must re-run when only
  // one side changes, whichever side it is (with "every table changed" neither write re-runs it).
  it('a watch over a JOIN re-runs when only one of its tables changes, for each side', async () => {
    const { a, b } = await setup();
    await a.client.request({ op: 'exec', sql: "CREATE TABLE tags(note TEXT NOT NULL, tag TEXT); INSERT INTO notes VALUES ('1', 'one'); INSERT INTO tags VALUES ('1', 'red')" });
    const sql = 'SELECT n.id, n.body, t.tag FROM notes n JOIN tags t ON t.note = n.id ORDER BY n.id, t.tag';
    const first = await b.client.request({ op: 'watch', watchId: 'j', sql });
    expect(first.rows).toEqual([{ id: '1', body: 'one', tag: 'red' }]);
    await a.client.request({ op: 'exec', sql: "UPDATE notes SET body = 'uno' WHERE id = '1'" });
    await settle();
    expect(rowsPushed(b.pushes, 'j')).toEqual([[{ id: '1', body: 'uno', tag: 'red' }]]);
    await a.client.request({ op: 'exec', sql: "INSERT INTO tags VALUES ('1', 'blue')" });
    await settle();
    expect(rowsPushed(b.pushes, 'j')).toEqual([
      [{ id: '1', body: 'uno', tag: 'red' }],
      [{ id: '1', body: 'uno', tag: 'blue' }, { id: '1', body: 'uno', tag: 'red' }],
    ]);
  });
});
