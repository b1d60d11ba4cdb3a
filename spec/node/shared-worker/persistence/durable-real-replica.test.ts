/**
 * The durable layer over the real sql.js replica: what a reopen restores must equal what was
 * there, for every kind of record the replica emits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Commit, SqlValue } from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';
import { armCrash, open as openWith, settle, type OpenOptions } from './durable-helpers.js';

const ITEMS = 'CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER, data BLOB)';
const NOTES = 'CREATE TABLE notes(body TEXT, n REAL)';

function open(store: KeyValueStore, o: OpenOptions = {}): Promise<DurableReplicaHandle> {
  return openWith(store, { createReplica, ...o });
}

/** Every row of the given tables, with -0 and byte arrays spelled out so any difference shows. */
async function dump(d: DurableReplicaHandle, tables: string[]): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const t of tables) out[t] = (await d.exec(`SELECT rowid AS _rowid, * FROM "${t}" ORDER BY rowid`)).rows;
  return JSON.stringify(out, (_k, v: unknown) => (Object.is(v, -0) ? '-0' : v instanceof Uint8Array ? { bytes: [...v] } : v));
}

async function state(d: DurableReplicaHandle, tables: string[]) {
  return { rows: await dump(d, tables), vector: d.getVector(), version: d.getVersion(), nodeId: d.nodeId, synced: d.syncedTables(), changes: d.changesSince({}) };
}

describe('openDurableReplica over the real replica', () => {
  it('restores the exact state from snapshot + log: synced, non-synced, remote-applied, vector, version, node id', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec(ITEMS);
    await d.enableSync('items');
    await d.exec(NOTES);
    // A user trigger writes a non-synced table whenever a row arrives, locally or from a peer:
    // replay must neither lose nor double those writes.
    await d.exec("CREATE TABLE audit(what TEXT); CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN INSERT INTO audit VALUES ('+' || NEW.id); END");
    // Everything below lands in the log, after the DDL snapshot.
    await d.exec('INSERT INTO items VALUES (?, ?, ?, ?)', ['a', 'Ä ☃ 𝄞', 1, new Uint8Array([0, 1, 255])]);
    await d.exec('INSERT INTO items VALUES (?, ?, ?, ?), (?, ?, ?, ?)', ['b', null, Number.MAX_SAFE_INTEGER, null, 'c', '', -7, new Uint8Array(0)]);
    await d.exec('UPDATE items SET qty = qty + 1 WHERE id = ?', ['a']);
    await d.exec('DELETE FROM items WHERE id = ?', ['b']);
    await d.exec('INSERT INTO notes VALUES (?, ?), (?, ?), (?, ?)', ['x', -0, 'y', 1e300, 'z', -1.5e-300]);
    await d.execLocal("UPDATE notes SET n = 2.5 WHERE body = 'x'");
    await d.execLocal("DELETE FROM notes WHERE body = 'y'");
    await d.exec("INSERT INTO items VALUES ('d', 'mixed', 4, NULL); INSERT INTO notes VALUES ('mixed', 0.1)");
    const remote = await createReplica();
    remote.exec(ITEMS);
    remote.enableSync('items');
    remote.exec("INSERT INTO items VALUES ('r', 'from remote', 9, x'beef')");
    remote.exec("UPDATE items SET title = 'remote edit' WHERE id = 'r'");
    await d.applyChanges(remote.changesSince({}));
    await d.exec("UPDATE items SET title = 'local edit of remote row' WHERE id = 'r'");
    expect(d.logStats().records).toBeGreaterThanOrEqual(8); // the log, not a snapshot, carries them
    const before = await state(d, ['items', 'notes', 'audit']);
    expect(before.rows).toContain('"+r"'); // the trigger fired for the remote row
    await d.close();
    remote.close();

    const again = await open(store.reopen());
    expect(await state(again, ['items', 'notes', 'audit'])).toEqual(before);
    await again.close();
  });

  it('keeps capturing changes after a snapshot (export() reopens sql.js) and after a reopen', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec(ITEMS);
    await d.enableSync('items');
    await d.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL)");
    await d.snapshot();
    expect(d.logStats().records).toBe(0);
    const heard: Commit[] = [];
    d.onCommit((c) => heard.push(c));
    const vectorBefore = d.getVector()[d.nodeId]!;
    await d.exec("INSERT INTO items VALUES ('b', 'B', 2, NULL)");
    expect(heard).toHaveLength(1);
    expect(heard[0]!.changes?.tables[0]?.rows.map((r) => r.pk)).toEqual([['b']]);
    expect(d.getVector()[d.nodeId]!).toBeGreaterThan(vectorBefore);
    await d.close();

    const again = await open(store.reopen());
    const peer = await createReplica();
    peer.exec(ITEMS);
    peer.enableSync('items');
    peer.applyChanges(again.changesSince({}));
    expect(peer.execLocal('SELECT id FROM items ORDER BY id').rows).toEqual([{ id: 'a' }, { id: 'b' }]);
    await again.exec("UPDATE items SET title = 'B2' WHERE id = 'b'");
    const delta = again.changesSince(peer.getVector());
    expect(delta.tables[0]?.rows.map((r) => r.pk)).toEqual([['b']]);
    peer.close();
    await again.close();
  });

  it('refuses a value over the cap in a synced table (SQL, nothing stored) and keeps one in a non-synced table across reopen', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec(ITEMS);
    await d.enableSync('items');
    await d.exec('CREATE TABLE blobs(k TEXT, data BLOB)');
    const big = new Uint8Array(2 << 20).map((_, i) => i % 251);
    const stats = d.logStats();
    await expect(d.exec("INSERT INTO items VALUES ('small', 's', 2, NULL); INSERT INTO items VALUES (?, ?, ?, ?)", ['big', 'b', 1, big]))
      .rejects.toMatchObject({ code: 'SQL', detail: { table: 'items', column: 'data' } });
    expect(d.logStats()).toEqual(stats); // nothing reached storage
    await d.exec('INSERT INTO blobs VALUES (?, ?)', ['big', big]);
    await d.exec("INSERT INTO items VALUES ('small', 's', 2, NULL)");
    await d.close();
    const again = await open(store.reopen());
    expect((await again.exec('SELECT id FROM items ORDER BY id')).rows).toEqual([{ id: 'small' }]);
    const [kept] = (await again.exec('SELECT data FROM blobs')).rows;
    expect(Buffer.compare(kept!.data as Uint8Array, big)).toBe(0); // (toEqual walks 2M elements for seconds)
    await again.close();
  });

  it('rolls back a write refused with QUOTA: absent in memory and after reopen; later writes work', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec(ITEMS);
    await d.enableSync('items');
    await d.exec("INSERT INTO items VALUES ('kept', 'k', 1, NULL)");
    const vector = d.getVector();
    store.quotaBytes = store.totalBytes();
    await expect(d.exec("INSERT INTO items VALUES ('lost', 'l', 2, NULL)")).rejects.toMatchObject({ code: 'QUOTA' });
    expect((await d.exec('SELECT id FROM items ORDER BY id')).rows).toEqual([{ id: 'kept' }]);
    expect(d.getVector()).toEqual(vector);
    store.quotaBytes = Infinity;
    await d.exec("INSERT INTO items VALUES ('after', 'a', 3, NULL)");
    await d.close();
    const again = await open(store.reopen());
    expect((await again.exec('SELECT id FROM items ORDER BY id')).rows).toEqual([{ id: 'after' }, { id: 'kept' }]);
    await again.close();
  });

  it('loses no acknowledged write when the worker dies at a random point (seeded)', async () => {
    type Op = { kind: 'insert'; note: boolean } | { kind: 'ddl' } | { kind: 'pause' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('insert' as const), note: fc.boolean() }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'ddl' as const }) },
      { weight: 3, arbitrary: fc.constant({ kind: 'pause' as const }) },
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), fc.nat({ max: 15 }), async (ops, crashAfter) => {
      const data = new Map<string, unknown>();
      const store = new MemoryKeyValueStore({ data });
      const d = await open(store, { snapshotEvery: { records: 3, bytes: 1 << 30 } });
      await d.exec(`${ITEMS}; ${NOTES}`);
      await d.enableSync('items');
      const crash = armCrash(store, crashAfter);
      const execs: Promise<unknown>[] = [];
      const issued: Array<{ i: number; note: boolean; resolved: boolean }> = [];
      for (const [i, o] of ops.entries()) {
        if (o.kind === 'pause') {
          await settle(1);
          continue;
        }
        const w = { i, note: o.kind === 'insert' && o.note, resolved: false };
        issued.push(w);
        const params: SqlValue[] = [`a${i}`, `b${i}`];
        const sql = o.kind === 'ddl'
          ? `CREATE TABLE extra${i}(x); INSERT INTO items(id) VALUES (?), (?)`
          : `INSERT INTO items(id) VALUES (?), (?)${w.note ? `; INSERT INTO notes(body) VALUES ('n${i}')` : ''}`;
        execs.push(d.exec(sql, params).then(() => { w.resolved = true; }, () => {}));
      }
      await crash.doneOrDead(Promise.all(execs).then(() => d.settled()));
      const again = await open(new MemoryKeyValueStore({ data }));
      const ids = new Set((await again.exec('SELECT id FROM items')).rows.map((r) => r.id));
      const notes = new Set((await again.exec('SELECT body FROM notes')).rows.map((r) => r.body));
      const present = issued.map((w) => {
        expect(ids.has(`a${w.i}`)).toBe(ids.has(`b${w.i}`));
        if (w.note) expect(notes.has(`n${w.i}`)).toBe(ids.has(`a${w.i}`));
        if (w.resolved) expect(ids.has(`a${w.i}`)).toBe(true);
        return ids.has(`a${w.i}`);
      });
      const firstMissing = present.indexOf(false);
      if (firstMissing >= 0) expect(present.slice(firstMissing)).not.toContain(true);
      await again.close();
    }), { seed: 777, numRuns: 25 });
  });
});
