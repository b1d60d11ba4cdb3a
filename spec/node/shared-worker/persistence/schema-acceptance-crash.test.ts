/**
 * Outside-tester acceptance of issue 14 on DurableReplica: an app's life (migrations of every
 * kind: several statements per step, ADD and DROP in one step, a data step, a dropped column
 * added back, several pending steps applied by one start) with writes between, crashed at every
 * storage write. The reopened replica shows a state the run had acknowledged or was working on
 * (never one in between, never older than acknowledged), and the next start, with the same
 * list, ends where a run without a crash ends. ALTER in exec (among writes, and alone) too.
 */
import { decode } from '@msgpack/msgpack';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { armCrash, withCopySteps } from './durable-helpers.js';

const NODE = 'cccccccccccccccc';
const STEPS = [
  'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT); CREATE TABLE prefs (k TEXT PRIMARY KEY, v TEXT)',
  'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
  "ALTER TABLE notes ADD COLUMN color TEXT DEFAULT 'none'; ALTER TABLE notes DROP COLUMN body",
  "UPDATE notes SET color = 'red' WHERE pinned = 1; CREATE INDEX notes_color ON notes(color); INSERT OR IGNORE INTO notes(id) VALUES ('seed')",
  'ALTER TABLE notes ADD COLUMN body TEXT',
  'DROP INDEX notes_color; ALTER TABLE notes DROP COLUMN color',
];

/** The app's life: each entry is one call an app makes (a start with a list, an exec). */
type Call = { migrate: number } | { exec: string } | { enable: string };
const LIFE: Call[] = [
  { migrate: 1 },
  { enable: 'notes' },
  { exec: "INSERT INTO notes(id, body) VALUES ('n1', 'one'), ('n2', 'two')" },
  { migrate: 2 },
  { exec: "UPDATE notes SET pinned = 1 WHERE id = 'n2'" },
  // Two pending steps applied by one start.
  { migrate: 4 },
  { exec: "INSERT INTO notes(id, pinned) VALUES ('n3', 1)" },
  { migrate: 6 },
  { exec: "UPDATE notes SET body = 'back' WHERE id = 'n1'" },
  // ALTER in exec: among writes (a snapshot), then alone (a schema change entry without a version).
  { exec: "INSERT INTO notes(id, body) VALUES ('n4', 'four'); ALTER TABLE notes ADD COLUMN extra TEXT DEFAULT 'e'; UPDATE notes SET extra = 'E' WHERE id = 'n1'" },
  { exec: 'ALTER TABLE notes DROP COLUMN pinned' },
  { exec: "UPDATE notes SET extra = 'last' WHERE id = 'n4'" },
];

/** Snapshots every few entries, or (the default thresholds) a log replayed from the first snapshot. */
let snapshotEvery: { records: number; bytes: number } | undefined;

async function open(data: Map<string, unknown>, store = new MemoryKeyValueStore({ data })): Promise<DurableReplicaHandle> {
  return openDurableReplica({
    store,
    createReplica: (o) => createReplica({ ...o, nodeId: NODE }),
    warn: () => {},
    ...(snapshotEvery ? { snapshotEvery } : {}),
  });
}

async function state(d: DurableReplicaHandle): Promise<string> {
  const columns = (await d.execLocal("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info('notes') ORDER BY cid")).rows;
  const rows = columns.length === 0 ? [] : (await d.execLocal('SELECT * FROM notes ORDER BY id')).rows;
  return JSON.stringify({ v: d.getSchemaVersion(), synced: d.syncedTables(), columns, rows });
}

/** Runs one call; a migrate call reports the state after each step it applies. */
async function run(d: DurableReplicaHandle, call: Call, seen: (s: string) => Promise<void>): Promise<void> {
  if ('migrate' in call) {
    for (let n = d.getSchemaVersion() + 1; n <= call.migrate; n++) {
      await d.migrate(STEPS.slice(0, n));
      await seen(await state(d));
    }
  } else {
    if ('enable' in call) await d.enableSync(call.enable);
    else await d.exec(call.exec);
    await seen(await state(d));
  }
}

describe('an app life with migrations, crashed at every storage write', () => {
  it.each([['a snapshot every 3 entries', { records: 3, bytes: 1 << 20 }], ['the default snapshot policy', undefined]])('%s: reopens at an acknowledged (or the in-flight) state and finishes like an uncrashed run', async (_, every) => {
    snapshotEvery = every;
    // The states in order: after opening, then after each step / call.
    const clean = new MemoryKeyValueStore();
    const d0 = await open(new Map(), clean);
    const states = [await state(d0)];
    const writesBefore: number[] = [clean.writeCount];
    for (const call of LIFE) {
      await run(d0, call, async (s) => { states.push(s); writesBefore.push(clean.writeCount); });
    }
    await d0.close();
    const totalWrites = clean.writeCount;
    const final = states.at(-1)!;
    expect(JSON.parse(final).v).toBe(STEPS.length);

    for (let crashAt = 1; crashAt <= totalWrites; crashAt++) {
      const data = new Map<string, unknown>();
      const store = new MemoryKeyValueStore({ data });
      const crash = armCrash(store, crashAt === 0 ? Number.MAX_SAFE_INTEGER : crashAt);
      let acked = -1;
      const life = (async () => {
        const d = await open(data, store);
        acked = 0;
        let i = 0;
        for (const call of LIFE) {
          await run(d, call, async (s) => {
            i++;
            expect(s).toBe(states[i]);
            acked = i;
          });
        }
      })();
      await crash.doneOrDead(life);
      // A dead worker's pending write never settles: its work is abandoned, not awaited.
      life.catch(() => {});
      const at = crash.dead() ? acked : states.length - 1;
      // Reopen what storage holds: an acknowledged state, or the one being written when it died.
      const d = await open(new Map(data));
      const reopened = await state(d);
      const index = states.indexOf(reopened);
      expect(index, `crash after write ${crashAt}: ${reopened}`).toBeGreaterThanOrEqual(Math.max(at, 0));
      expect(index, `crash after write ${crashAt}`).toBeLessThanOrEqual(at + 1);
      // The next start runs the whole list and the app's enableSync, then redoes the calls after the state it found.
      await d.migrate(STEPS);
      await d.enableSync('notes');
      for (const call of LIFE) {
        if ('exec' in call && index < stateIndexAfterCall(call)) await d.exec(call.exec);
      }
      expect(await state(d), `crash after write ${crashAt}`).toBe(final);
      await d.close();
    }
  });
});

/** The index in `states` right after an exec call of LIFE ran (the states list has one per step / call). */
function stateIndexAfterCall(target: Call): number {
  let i = 0;
  let v = 0;
  for (const call of LIFE) {
    if ('migrate' in call) {
      i += call.migrate - v;
      v = call.migrate;
    } else i++;
    if (call === target) return i;
  }
  throw new Error('not in LIFE');
}

describe('refused and failing ALTERs on a durable replica', () => {
  it('each leaves memory, storage, version and sync as before; the next writes, a reopen and a peer agree', async () => {
    snapshotEvery = undefined;
    const data = new Map<string, unknown>();
    const d = await open(data);
    await d.migrate(STEPS.slice(0, 2));
    await d.enableSync('notes');
    await d.exec("INSERT INTO notes(id, body) VALUES ('n1', 'one')");
    const peer = await createReplica({ nodeId: 'cccccccccccccccd' });
    peer.migrate(STEPS.slice(0, 2));
    peer.enableSync('notes');
    const failing = [
      'ALTER TABLE notes ADD COLUMN c INTEGER NOT NULL',
      "ALTER TABLE notes ADD COLUMN c TEXT CHECK (c <> 'x') DEFAULT 'x'",
      'ALTER TABLE notes ADD COLUMN pinned TEXT',
      'ALTER TABLE notes ADD COLUMN c TEXT UNIQUE',
      'ALTER TABLE notes ADD COLUMN rowid INTEGER',
      'ALTER TABLE notes ADD COLUMN c INTEGER REFERENCES prefs(k)',
      'ALTER TABLE notes ADD COLUMN c TEXT GENERATED ALWAYS AS (body) VIRTUAL',
      'ALTER TABLE notes DROP COLUMN id',
      'ALTER TABLE notes DROP COLUMN nosuch',
      'ALTER TABLE notes RENAME COLUMN body TO text',
      'ALTER TABLE notes ADD COLUMN c TEXT; ALTER TABLE notes DROP COLUMN c; ALTER TABLE notes ADD COLUMN c INTEGER',
      "ALTER TABLE notes ADD COLUMN c TEXT; UPDATE notes SET c = 'v'; SELECT * FROM nosuch",
    ];
    const before = await state(d);
    const version = d.getVersion();
    for (const sql of failing) {
      await expect(d.exec(sql), sql).rejects.toMatchObject({ name: 'BatteryError' });
      await expect(d.migrate([...STEPS.slice(0, 2), sql]), sql).rejects.toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/migration 2 \(step 3\)/) });
      expect(await state(d), sql).toBe(before);
      expect(d.getVersion(), sql).toBe(version);
    }
    await d.exec("UPDATE notes SET pinned = 1; ALTER TABLE notes ADD COLUMN c TEXT DEFAULT 'd'");
    peer.applyChanges(d.changesSince(peer.getVector()));
    peer.exec("ALTER TABLE notes ADD COLUMN c TEXT DEFAULT 'd'");
    const now = await state(d);
    expect(JSON.stringify(peer.execLocal('SELECT * FROM notes ORDER BY id').rows)).toBe(JSON.stringify(JSON.parse(now).rows));
    await d.close();
    const again = await open(data);
    expect(await state(again)).toBe(now);
    await again.close();
  });
});

describe('a store of the 0.1 release meets a peer on a newer version', () => {
  it('keeps the cells of a column it lacks across a crash, shows them once it adds the column, and a peer on the old definition gets everything', async () => {
    const entries = decode(readFileSync(new URL('./fixtures/release-0.1-store.msgpack', import.meta.url))) as Array<[string, unknown]>;
    const data = new Map(entries);
    const openOld = (store: Map<string, unknown>) => openDurableReplica({ store: new MemoryKeyValueStore({ data: store }), createReplica, warn: () => {} });
    const old = await openOld(data);
    const newer = await createReplica({ nodeId: 'cccccccccccccce1' });
    newer.exec("CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT DEFAULT '', n INTEGER)");
    newer.enableSync('notes');
    newer.applyChanges(old.changesSince({}, { tables: ['notes'] }));
    newer.migrate(['ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; ALTER TABLE notes DROP COLUMN body']);
    newer.exec("UPDATE notes SET pinned = 1 WHERE id = 'n3'; INSERT INTO notes(id, title, pinned) VALUES ('n9', 'new', 1)");
    await old.applyChanges(newer.changesSince(old.getVector()));
    await old.exec("UPDATE notes SET body = 'edited on 0.1' WHERE id = 'n1'");
    // A crash: storage as it stands (the apply and the exec were acknowledged).
    const crashed = await openOld(new Map(data));
    expect((await crashed.exec('SELECT id, body FROM notes ORDER BY id')).rows).toEqual([
      { id: 'n1', body: 'edited on 0.1' }, { id: 'n3', body: 'pending' }, { id: 'n4', body: 'b4' }, { id: 'n9', body: '' },
    ]);
    await crashed.migrate(['ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0']);
    expect((await crashed.exec('SELECT id, pinned FROM notes ORDER BY id')).rows).toEqual([
      { id: 'n1', pinned: 0 }, { id: 'n3', pinned: 1 }, { id: 'n4', pinned: 0 }, { id: 'n9', pinned: 1 },
    ]);
    // A peer still on the 0.1 definition gets the rows (body included) through it.
    const onOld = await createReplica({ nodeId: 'cccccccccccccce2' });
    onOld.exec("CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT DEFAULT '', n INTEGER)");
    onOld.enableSync('notes');
    onOld.applyChanges(crashed.changesSince({}, { tables: ['notes'] }));
    expect(onOld.execLocal('SELECT id, body FROM notes ORDER BY id').rows).toEqual((await crashed.exec('SELECT id, body FROM notes ORDER BY id')).rows);
    // And the newer peer gets the 0.1 store's edit of the column it dropped back when it adds it again.
    newer.applyChanges(crashed.changesSince(newer.getVector()));
    newer.migrate(['ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; ALTER TABLE notes DROP COLUMN body', 'ALTER TABLE notes ADD COLUMN body TEXT DEFAULT \'\'']);
    expect(newer.execLocal("SELECT body FROM notes WHERE id = 'n1'").rows).toEqual([{ body: 'edited on 0.1' }]);
    await old.close();
    await crashed.close();
  });
});

describe('schema changes while a background snapshot is copied', () => {
  const ALTERS: Array<[string, unknown[]?]> = [
    ['ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'],
    ['UPDATE items SET pinned = 1 WHERE n % 3 = 0'],
    ["ALTER TABLE items ADD COLUMN tag TEXT DEFAULT 't'; UPDATE items SET tag = :tag WHERE n % 4 = 0", [] as unknown[]],
    ['ALTER TABLE items DROP COLUMN body'],
    ['INSERT INTO items(id, n) VALUES (?, ?)', ['late', 7]],
    ['ALTER TABLE items ADD COLUMN body BLOB'],
    ['ALTER TABLE items DROP COLUMN tag'],
  ];
  const params = (i: number): unknown[] | Record<string, unknown> | undefined => (i === 2 ? { ':tag': 'x' } : ALTERS[i]![1]);

  async function seededStore(): Promise<Map<string, unknown>> {
    const data = new Map<string, unknown>();
    const d = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica: (o) => createReplica({ ...o, nodeId: NODE }), warn: () => {} });
    await d.exec('CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, body BLOB, n INTEGER)');
    await d.enableSync('items');
    await d.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1200)
      INSERT INTO items SELECT printf('seed-%05d', i), zeroblob(900), i FROM c`);
    await d.close();
    return data;
  }
  const dumpItems = async (d: DurableReplicaHandle) => JSON.stringify({
    cols: (await d.execLocal("SELECT name FROM pragma_table_info('items') ORDER BY cid")).rows,
    rows: (await d.execLocal('SELECT *, NULL AS body FROM items ORDER BY id')).rows,
    body: (await d.execLocal("SELECT count(*) AS n FROM pragma_table_info('items') WHERE name = 'body'")).rows,
  });

  it('each ALTER lands between the copy steps; the stored state (clean, and crashed at each of the first 10 storage writes) is an acknowledged prefix', async () => {
    const template = await seededStore();
    // What each prefix of the statements leaves.
    const twin = await openDurableReplica({ store: new MemoryKeyValueStore({ data: new Map(template) }), createReplica: (o) => createReplica({ ...o, nodeId: NODE }), warn: () => {} });
    const prefixes = [await dumpItems(twin)];
    for (let i = 0; i < ALTERS.length; i++) {
      await twin.exec(ALTERS[i]![0], params(i) as never);
      prefixes.push(await dumpItems(twin));
    }
    await twin.close();

    // 0: no crash (then every statement is acknowledged, and some ran between the copy's steps).
    for (const crashAt of [0, ...Array.from({ length: 10 }, (_, i) => i + 1)]) {
      const data = new Map(template);
      const store = new MemoryKeyValueStore({ data });
      let d!: DurableReplicaHandle;
      let next = 0;
      let acked = 0;
      let duringCopy = 0;
      const execs: Promise<unknown>[] = [];
      // Each step of the copy first sends the next statement, so the ALTERs run while it is copied.
      const wrapped = withCopySteps((o) => createReplica({ ...o, nodeId: NODE }), (pages, step) => {
        if (next < ALTERS.length) {
          const i = next++;
          duringCopy++;
          execs.push(d.exec(ALTERS[i]![0], params(i) as never).then(() => { acked = Math.max(acked, i + 1); }));
        }
        return step(Math.min(pages, 8));
      });
      d = await openDurableReplica({ store, createReplica: wrapped, snapshotEvery: { records: 1 }, warn: () => {} });
      const crash = armCrash(store, crashAt === 0 ? Number.MAX_SAFE_INTEGER : crashAt);
      // A write starts the first background snapshot (one record past the threshold).
      execs.push(d.exec("INSERT INTO items(id, n) VALUES ('start', 0)"));
      await crash.doneOrDead(Promise.all(execs).then(async () => {
        while (next < ALTERS.length) {
          const i = next++;
          await d.exec(ALTERS[i]![0], params(i) as never);
          acked = i + 1;
        }
        await d.settled();
      }));
      const reopened = await openDurableReplica({ store: store.reopen(), createReplica: (o) => createReplica({ ...o, nodeId: NODE }), warn: () => {} });
      const state = await dumpItems(reopened);
      const withoutStart = JSON.parse(state) as { rows: Array<{ id: string }> };
      withoutStart.rows = withoutStart.rows.filter((r) => r.id !== 'start');
      const at = prefixes.indexOf(JSON.stringify(withoutStart));
      expect(at, `crash after ${crashAt} writes, acknowledged ${acked}`).toBeGreaterThanOrEqual(acked);
      if (crashAt === 0) {
        expect(duringCopy).toBeGreaterThan(1);
        expect(at).toBe(ALTERS.length);
      }
      expect(await reopened.execLocal('PRAGMA integrity_check')).toMatchObject({ rows: [{ integrity_check: 'ok' }] });
      await reopened.close();
    }
  }, 300_000); // generous: the machine is shared; no timing is asserted
});

describe('DDL right after a lone ADD COLUMN', () => {
  // The replica knows the schema version a lone ADD leaves without asking SQLite; the statement
  // after it must still be seen as DDL (it asks for a snapshot, and a trigger is checked).
  const SEQS: string[][] = [
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'CREATE TABLE side(x); INSERT INTO side VALUES (1)'],
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'CREATE INDEX notes_c ON notes(c)'],
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'ALTER TABLE notes ADD COLUMN d TEXT', 'CREATE VIEW v AS SELECT * FROM notes'],
    ['ALTER TABLE notes ADD COLUMN c TEXT', "INSERT INTO notes(id) VALUES ('x')", 'CREATE TABLE side(x)'],
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'ALTER TABLE notes ADD COLUMN c TEXT', 'CREATE TABLE side(x)'],
    ['ALTER TABLE notes ADD COLUMN c NOT NULL', 'CREATE TABLE side(x)'],
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'ALTER TABLE notes DROP COLUMN c', 'ALTER TABLE notes ADD COLUMN c TEXT', 'CREATE TABLE side(x)'],
    ['migrate:ALTER TABLE notes ADD COLUMN c TEXT', 'CREATE TABLE side(x); INSERT INTO side VALUES (2)'],
    // Forms the direct path does not read, or may predict wrongly (then it falls back).
    ['ALTER TABLE notes ADD COLUMN c VARCHAR(10)', 'CREATE TABLE side(x)'],
    ['ALTER TABLE notes ADD COLUMN c unsigned   big int', 'CREATE TABLE side(x)'],
    ['ALTER TABLE notes ADD COLUMN "c d" TEXT DEFAULT \'x\' COLLATE NOCASE CHECK (length("c d") < 9)', 'CREATE INDEX notes_cd ON notes("c d")'],
    ["ALTER TABLE 'notes' ADD c INTEGER NOT NULL DEFAULT -1 ;", 'CREATE TABLE side(x)'],
    // A snapshot between (its fold keeps the known version).
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'snapshot', 'CREATE TABLE side(x)'],
    ["UPDATE notes SET a = 'z'", 'snapshot', 'ALTER TABLE notes ADD COLUMN c TEXT', 'snapshot', 'CREATE INDEX notes_c ON notes(c)'],
    // The DDL through execLocal.
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'local:CREATE TABLE side(x); INSERT INTO side VALUES (3)'],
    // Writes to tables that are not synced (logged as row images) after the ADD.
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'local:INSERT INTO loc VALUES (1)', "UPDATE notes SET c = 'w'; INSERT INTO loc VALUES (2)"],
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'CREATE TABLE side(x)', 'INSERT INTO side VALUES (4)', 'local:INSERT INTO side VALUES (5)'],
    // Writes SQLite's update hook does not see (a WITHOUT ROWID table, DELETE without WHERE).
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'local:INSERT INTO wr VALUES (7)'],
    ['ALTER TABLE notes ADD COLUMN c TEXT', 'local:DELETE FROM loc'],
  ];
  /** The user's schema and every row of the user's tables. */
  const userSchema = async (d: DurableReplicaHandle) => {
    const schema = (await d.execLocal("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '\\_rb%' ESCAPE '\\' ORDER BY name")).rows;
    const tables = schema.filter((r) => r.type === 'table').map((r) => String(r.name));
    return JSON.stringify([schema, ...(await Promise.all(tables.map(async (t) => (await d.execLocal(`SELECT * FROM "${t}" ORDER BY 1`)).rows)))]);
  };

  it.each(SEQS.map((s) => [s.join(' | '), s]))('%s: storage holds it the moment it is acknowledged', async (_, seq) => {
    snapshotEvery = undefined;
    const data = new Map<string, unknown>();
    const d = await open(data);
    await d.exec("CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, a TEXT); INSERT INTO notes VALUES ('n', 'x'); CREATE TABLE loc(x); INSERT INTO loc VALUES (0); CREATE TABLE wr(k PRIMARY KEY) WITHOUT ROWID");
    await d.enableSync('notes');
    await d.snapshot();
    // A write first: the replica then knows the schema version going into the ADD.
    await d.exec("UPDATE notes SET a = 'y'");
    for (const sql of seq as string[]) {
      if (sql.startsWith('migrate:')) await d.migrate([sql.slice('migrate:'.length)]);
      else if (sql === 'snapshot') await d.snapshot();
      else if (sql.startsWith('local:')) await d.execLocal(sql.slice('local:'.length));
      else await d.exec(sql).catch(() => {});
    }
    const want = [await userSchema(d), JSON.stringify((await d.execLocal('SELECT * FROM notes ORDER BY id')).rows)];
    // A crash right after the last acknowledgement: storage as it stands.
    const again = await open(new Map(data));
    expect([await userSchema(again), JSON.stringify((await again.execLocal('SELECT * FROM notes ORDER BY id')).rows)]).toEqual(want);
    await again.close();
  });

  it('a trigger that would write a synced table during merges is refused right after a lone ADD too', async () => {
    const d = await open(new Map());
    await d.exec('CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, a TEXT); CREATE TABLE tags(id TEXT PRIMARY KEY NOT NULL, n INTEGER)');
    await d.enableSync('notes');
    await d.enableSync('tags');
    await d.exec("INSERT INTO notes VALUES ('n', 'x')");
    await d.exec('ALTER TABLE notes ADD COLUMN c TEXT');
    await expect(d.exec("CREATE TRIGGER count_notes AFTER INSERT ON notes BEGIN INSERT OR REPLACE INTO tags VALUES ('n', 1); END")).rejects.toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/count_notes/) });
    expect((await d.execLocal("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = 'count_notes'")).rows).toEqual([]);
    await d.close();
  });
});
