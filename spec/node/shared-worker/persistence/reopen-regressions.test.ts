/**
 * Reopen regressions found by hand and by reopen.property.test.ts. Each reopens storage written
 * by a durable replica (a new MemoryKeyValueStore handle on the same Map, as a restarted worker).
 */
import { describe, expect, it } from 'vitest';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

function open(data: Map<string, unknown>): Promise<DurableReplicaHandle> {
  return openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica, warn: () => {} });
}

async function rows(d: DurableReplicaHandle, sql = 'SELECT * FROM t ORDER BY id'): Promise<unknown[]> {
  return (await d.exec(sql)).rows;
}

/** Runs `ddl`, syncs t, runs `writes` one exec each, and returns what a reopen reads next to what was acknowledged. */
async function reopened(ddl: string, writes: string[]): Promise<{ before: unknown[]; after: unknown[] }> {
  const data = new Map<string, unknown>();
  const d = await open(data);
  await d.exec(ddl);
  await d.enableSync('t');
  for (const w of writes) await d.exec(w);
  const before = await rows(d);
  await d.close();
  const e = await open(data);
  try {
    return { before, after: await rows(e) };
  } finally {
    await e.close();
  }
}

const IPK = 'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)';

describe('reopen regressions', () => {
  // The merge took rowid 0 for "no live row" and a negative rowid for "a tombstone": a row whose
  // INTEGER PRIMARY KEY is 0 or negative was then inserted again (UNIQUE constraint failed) or
  // tombstoned with values it never loaded (tried to bind a value of an unknown type (undefined)).
  it('issue 10: INTEGER PRIMARY KEY 0, updated, reopens (was: UNIQUE constraint failed: t.id)', async () => {
    const { before, after } = await reopened(IPK, ["INSERT INTO t (id, v) VALUES (0, 'v0')", "UPDATE t SET v = 'c' WHERE id = 0"]);
    expect(before).toEqual([{ id: 0, v: 'c' }]);
    expect(after).toEqual(before);
  });

  it('INTEGER PRIMARY KEY -1, deleted, reopens (was: tried to bind a value of an unknown type (undefined))', async () => {
    const { before, after } = await reopened(IPK, ["INSERT INTO t (id, v) VALUES (-1, 'a'), (3, 'c')", 'DELETE FROM t WHERE id = -1']);
    expect(before).toEqual([{ id: 3, v: 'c' }]);
    expect(after).toEqual(before);
  });

  it('negative INTEGER PRIMARY KEYs, updated, reopen', async () => {
    const { before, after } = await reopened(IPK, ["INSERT INTO t (id, v) VALUES (-2, 'b'), (-7, 'x')", "UPDATE t SET v = 'b2' WHERE id < 0"]);
    expect(before).toEqual([{ id: -7, v: 'b2' }, { id: -2, v: 'b2' }]);
    expect(after).toEqual(before);
  });

  it('rows moved to rowid 0 and -1 in a table keyed otherwise take remote updates and deletes, and reopen', async () => {
    const ddl = 'CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, v TEXT)';
    const data = new Map<string, unknown>();
    const d = await open(data);
    await d.exec(ddl);
    await d.enableSync('t');
    await d.exec("INSERT INTO t VALUES ('a', '1'), ('b', '2'), ('c', '3')");
    await d.exec("UPDATE t SET rowid = 0 WHERE id = 'a'; UPDATE t SET rowid = -1 WHERE id = 'b'");
    const peer = await createReplica();
    peer.exec(ddl);
    peer.enableSync('t');
    peer.applyChanges(d.changesSince({}));
    peer.exec("UPDATE t SET v = 'peer' WHERE id = 'a'; DELETE FROM t WHERE id = 'b'");
    await d.applyChanges(peer.changesSince(d.getVector()));
    const before = await rows(d);
    expect(before).toEqual([{ id: 'a', v: 'peer' }, { id: 'c', v: '3' }]);
    await d.close();
    const e = await open(data);
    expect(await rows(e)).toEqual(before);
    await e.close();
    peer.close();
  });

  it('a peer merges updates and deletes of rows keyed 0 and -1 (the same merge runs for remote batches)', async () => {
    const a = await createReplica();
    const b = await createReplica();
    for (const r of [a, b]) {
      r.exec(IPK);
      r.enableSync('t');
    }
    a.exec("INSERT INTO t VALUES (0, 'zero'), (-1, 'minus one')");
    b.applyChanges(a.changesSince({}));
    a.exec("UPDATE t SET v = 'zero again' WHERE id = 0; DELETE FROM t WHERE id = -1");
    b.applyChanges(a.changesSince(b.getVector()));
    expect(b.exec('SELECT * FROM t ORDER BY id').rows).toEqual([{ id: 0, v: 'zero again' }]);
    a.close();
    b.close();
  });

  // Found by reopen.property.test.ts: replay re-ran user triggers, and a key change replays as
  // delete + insert, so an AFTER INSERT trigger added an audit row the original UPDATE never wrote.
  it('user triggers do not fire again at replay: their writes come back from the row images', async () => {
    const data = new Map<string, unknown>();
    const d = await open(data);
    await d.exec("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT); CREATE TABLE audit (n INTEGER PRIMARY KEY, what TEXT); CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO audit(what) VALUES ('+' || NEW.id); END");
    await d.enableSync('t');
    await d.exec("INSERT INTO t VALUES (-1, 'x')");
    await d.exec("INSERT INTO t VALUES (-1, 'x') ON CONFLICT (id) DO UPDATE SET id = id + 100");
    await d.exec("UPDATE t SET rowid = 7 WHERE id = 99; INSERT INTO t VALUES (1, 'y')");
    const before = { t: await rows(d), audit: await rows(d, 'SELECT * FROM audit ORDER BY n') };
    expect(before.audit).toEqual([{ n: 1, what: '+-1' }, { n: 2, what: '+1' }]);
    await d.close();
    const e = await open(data);
    expect({ t: await rows(e), audit: await rows(e, 'SELECT * FROM audit ORDER BY n') }).toEqual(before);
    // ...and they are back for the writes after the replay.
    await e.exec("INSERT INTO t VALUES (2, 'z')");
    expect(await rows(e, 'SELECT what FROM audit ORDER BY n')).toEqual([{ what: '+-1' }, { what: '+1' }, { what: '+2' }]);
    await e.close();
  });
});
