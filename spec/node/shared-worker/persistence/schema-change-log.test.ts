/**
 * ADD/DROP COLUMN of a synced table is a durable log entry of its own (a SchemaChange), replayed
 * by running it again, instead of a snapshot. Reopen (clean, and after a crash at any storage
 * write) must show exactly the acknowledged schema, rows, registers and schema version.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { decodeLogRecord, LOG_PREFIX } from '../../../../shared-worker/persistence/durable-log-record.js';
import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { registers } from '../replica/replica-helpers.js';
import { armCrash } from './durable-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261207);
const NODE = 'aaaaaaaaaaaaaaaa';
const T = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)';

interface Opened { d: DurableReplicaHandle; live(): Replica }

/** The durable replica plus the in-memory replica behind it (read without going through a write). */
async function open(store: KeyValueStore, snapshotEvery?: { records: number; bytes: number }): Promise<Opened> {
  let live: Replica | null = null;
  const d = await openDurableReplica({
    store,
    createReplica: async (o) => (live = await createReplica({ ...o, nodeId: NODE })),
    warn: () => {},
    ...(snapshotEvery ? { snapshotEvery } : {}),
  });
  return { d, live: () => live! };
}

/** Everything a reopen must restore: columns as declared, rows, registers, schema version, fingerprints. */
function state(r: Replica): string {
  return JSON.stringify({
    columns: r.exec("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('t') ORDER BY cid").rows,
    rows: r.exec('SELECT * FROM t ORDER BY id').rows,
    registers: registers(r),
    schemaVersion: r.getSchemaVersion(),
    fingerprints: r.fingerprints(),
  });
}

async function synced(store: KeyValueStore, snapshotEvery?: { records: number; bytes: number }): Promise<Opened> {
  const o = await open(store, snapshotEvery);
  await o.d.exec(T);
  await o.d.enableSync('t');
  await o.d.exec("INSERT INTO t VALUES ('r1', 'x'), ('r2', 'y')");
  return o;
}

type Op =
  | { kind: 'add'; migrate: boolean; name: number; withDefault: boolean }
  | { kind: 'drop'; pick: number }
  | { kind: 'insert'; value: number }
  | { kind: 'update'; pick: number; row: number; value: number }
  | { kind: 'delete'; row: number }
  | { kind: 'pause' };

function integrity(r: Replica): unknown[] {
  return [r.execLocal('PRAGMA integrity_check').rows, r.execLocal('PRAGMA quick_check').rows];
}
const INTEGRITY_OK = [[{ integrity_check: 'ok' }], [{ quick_check: 'ok' }]];

const seen = { crashedBeforeEnd: 0, acknowledgedAlters: 0, replayedSchemaEntries: 0 };

/**
 * Runs `ops` (writes issued without waiting, as a busy app would) against a store that stops
 * persisting after `crashAfter` writes, then reopens what storage holds: it must equal the memory
 * state after some write issued, and that write must be at or after the last acknowledged one.
 */
async function crashRun(ops: Op[], crashAfter: number): Promise<void> {
  const data = new Map<string, unknown>();
  const store = new MemoryKeyValueStore({ data });
  const { d, live } = await synced(store, { records: 4, bytes: 1 << 30 });
  await d.settled();
  const crash = armCrash(store, crashAfter);
  const writes: Promise<unknown>[] = [];
  // states[k]: memory right after the k-th write was issued (0: before any).
  const states = [state(live())];
  let acknowledged = 0;
  let issued = 0;
  let columns = ['a'];
  let rowCount = 2;
  const steps: string[] = [];
  for (const o of ops) {
    if (o.kind === 'pause') {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    let write: () => Promise<unknown>;
    let alter = false;
    if (o.kind === 'add' || (o.kind === 'drop' && columns.length === 0)) {
      const name = o.kind === 'add' ? `c${o.name}` : 'c0';
      const sql = columns.includes(name) ? `ALTER TABLE t DROP COLUMN ${name}` : `ALTER TABLE t ADD COLUMN ${name} TEXT${o.kind === 'add' && o.withDefault ? " DEFAULT 'd'" : ''}`;
      columns = columns.includes(name) ? columns.filter((c) => c !== name) : [...columns, name];
      alter = true;
      if (o.kind === 'add' && o.migrate) {
        steps.push(sql);
        const list = [...steps];
        write = () => d.migrate(list);
      } else write = () => d.exec(sql);
    } else if (o.kind === 'drop') {
      const name = columns[o.pick % columns.length]!;
      columns = columns.filter((c) => c !== name);
      alter = true;
      write = () => d.exec(`ALTER TABLE t DROP COLUMN ${name}`);
    } else if (o.kind === 'insert') {
      rowCount++;
      const sql = `INSERT INTO t(id${columns.map((c) => `, ${c}`).join('')}) VALUES ('r${rowCount}'${columns.map(() => `, 'v${o.value}'`).join('')})`;
      write = () => d.exec(sql);
    } else if (o.kind === 'update') {
      if (columns.length === 0) continue;
      const sql = `UPDATE t SET ${columns[o.pick % columns.length]} = 'u${o.value}' WHERE id = 'r${1 + (o.row % rowCount)}'`;
      write = () => d.exec(sql);
    } else {
      const sql = `DELETE FROM t WHERE id = 'r${1 + (o.row % rowCount)}'`;
      write = () => d.exec(sql);
    }
    const k = ++issued;
    // The write runs on memory at once (in call order); it resolves once it is durable.
    writes.push(write().then(() => {
      acknowledged = Math.max(acknowledged, k);
      if (alter) seen.acknowledgedAlters++;
    }, () => {}));
    states.push(state(live()));
  }
  await crash.doneOrDead(Promise.all(writes).then(() => d.settled()));
  if (acknowledged < issued) seen.crashedBeforeEnd++;
  for (const [key, value] of data) {
    if (key.startsWith(LOG_PREFIX) && decodeLogRecord(value as Uint8Array).schema) seen.replayedSchemaEntries++;
  }
  // The crashed instance is abandoned without close(); a new one opens what storage holds.
  const again = await open(new MemoryKeyValueStore({ data }));
  // Schema texts the ADD COLUMNs rewrote (schema-text-rewrite.ts) must read back as a sound file.
  expect(integrity(live())).toEqual(INTEGRITY_OK);
  expect(integrity(again.live())).toEqual(INTEGRITY_OK);
  const now = state(again.live());
  const at = states.lastIndexOf(now);
  expect(at, `reopened state is none of the states memory went through:\n${now}`).toBeGreaterThanOrEqual(0);
  expect(at).toBeGreaterThanOrEqual(acknowledged);
  await again.d.close();
}

describe('schema change log entries', () => {
  it('ADD COLUMN is logged without a snapshot and a reopen restores schema, rows and registers', async () => {
    const store = new MemoryKeyValueStore();
    const { d, live } = await synced(store);
    const before = d.logStats();
    await d.exec('ALTER TABLE t ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    expect(d.logStats()).toMatchObject({ snapshotSeq: before.snapshotSeq, records: before.records + 1 });
    await d.exec("UPDATE t SET pinned = 3 WHERE id = 'r1'");
    const acknowledged = state(live());
    await d.close();
    const again = await open(store.reopen());
    expect(state(again.live())).toBe(acknowledged);
    expect(integrity(again.live())).toEqual(INTEGRITY_OK);
    expect((await again.d.exec('SELECT id, pinned FROM t ORDER BY id')).rows).toEqual([{ id: 'r1', pinned: 3 }, { id: 'r2', pinned: 0 }]);
    // Capture works on the replayed shape: a write after reopen is a register of the new column.
    await again.d.exec("UPDATE t SET pinned = 4 WHERE id = 'r2'");
    expect(again.d.changesSince({}).tables[0]!.columns).toContain('pinned');
    await again.d.close();
  });

  it('DROP COLUMN is logged without a snapshot; after reopen the dropped cells are still forwarded', async () => {
    const store = new MemoryKeyValueStore();
    const { d, live } = await synced(store);
    await d.exec('ALTER TABLE t ADD COLUMN b TEXT');
    await d.exec("UPDATE t SET b = 'kept' WHERE id = 'r2'");
    const before = d.logStats();
    await d.exec('ALTER TABLE t DROP COLUMN a');
    expect(d.logStats()).toMatchObject({ snapshotSeq: before.snapshotSeq, records: before.records + 1 });
    const acknowledged = state(live());
    await d.close();
    const again = await open(store.reopen());
    expect(state(again.live())).toBe(acknowledged);
    const delta = again.d.changesSince({});
    expect(delta.tables.flatMap((t) => t.columns)).toContain('a');
    await again.d.close();
  });

  it('a migration step that only alters synced tables is logged with its schema version', async () => {
    const store = new MemoryKeyValueStore();
    const { d, live } = await synced(store);
    const before = d.logStats();
    await d.migrate(['ALTER TABLE t ADD COLUMN p INTEGER DEFAULT 1', 'ALTER TABLE t ADD COLUMN q TEXT; ALTER TABLE t DROP COLUMN p']);
    expect(d.logStats()).toMatchObject({ snapshotSeq: before.snapshotSeq, records: before.records + 2 });
    expect(d.getSchemaVersion()).toBe(2);
    const acknowledged = state(live());
    await d.close();
    const again = await open(store.reopen());
    expect(again.d.getSchemaVersion()).toBe(2);
    expect(state(again.live())).toBe(acknowledged);
    expect(await again.d.migrate(['ALTER TABLE t ADD COLUMN p INTEGER DEFAULT 1', 'ALTER TABLE t ADD COLUMN q TEXT; ALTER TABLE t DROP COLUMN p'])).toEqual({ from: 2, to: 2 });
    await again.d.close();
  });

  it('a dropped column\'s type survives replaying its DROP from the log: a re-ADD under another type is still refused', async () => {
    const store = new MemoryKeyValueStore();
    const { d } = await synced(store);
    const before = d.logStats();
    await d.migrate(['ALTER TABLE t DROP COLUMN a']);
    expect(d.logStats()).toMatchObject({ snapshotSeq: before.snapshotSeq, records: before.records + 1 });
    await d.close();
    const again = await open(store.reopen());
    // Replayed from the log, not from a snapshot taken after the DROP.
    expect(again.d.logStats()).toMatchObject({ snapshotSeq: before.snapshotSeq, records: before.records + 1 });
    await expect(again.d.migrate(['ALTER TABLE t DROP COLUMN a', 'ALTER TABLE t ADD COLUMN a INTEGER'])).rejects.toMatchObject({
      code: 'SCHEMA',
      message: expect.stringMatching(/migration 1 \(step 2\) failed and was rolled back: .*column "a" was dropped as TEXT and cannot come back as INTEGER.*new name/),
    });
    expect(again.d.getSchemaVersion()).toBe(1);
    await again.d.migrate(['ALTER TABLE t DROP COLUMN a', 'ALTER TABLE t ADD COLUMN a TEXT']);
    expect((await again.d.exec('SELECT * FROM t ORDER BY id')).rows).toEqual([{ id: 'r1', a: 'x' }, { id: 'r2', a: 'y' }]);
    await again.d.close();
  });

  it('anything more than ADD/DROP COLUMN of synced tables still snapshots', async () => {
    const { d } = await synced(new MemoryKeyValueStore());
    await d.exec('CREATE TABLE other(x)');
    for (const sql of [
      "ALTER TABLE t ADD COLUMN c1 TEXT; UPDATE t SET c1 = 'v'", // a row write too
      'ALTER TABLE other ADD COLUMN y', // not synced
      'ALTER TABLE t ADD COLUMN c2 TEXT; CREATE INDEX t_c2 ON t(c2)', // other DDL too
    ]) {
      await d.exec("INSERT INTO t(id) VALUES (?)", [sql]);
      expect(d.logStats().records).toBeGreaterThan(0);
      await d.exec(sql);
      await d.settled();
      expect(d.logStats().records, sql).toBe(0); // a snapshot replaced the log
    }
    await d.close();
  });

  it('replaySchemaChange runs only such a change, at the next schema version, and changes nothing otherwise', async () => {
    const r = await createReplica({ nodeId: NODE });
    r.exec(T);
    r.enableSync('t');
    r.exec("INSERT INTO t VALUES ('r1', 'x')");
    const before = state(r);
    expect(() => r.replaySchemaChange({ sql: "INSERT INTO t VALUES ('r2', 'y')", schemaVersion: null })).toThrow(/ADD\/DROP COLUMN/);
    expect(() => r.replaySchemaChange({ sql: 'ALTER TABLE t ADD COLUMN z; SELECT 1', schemaVersion: null })).toThrow(/ADD\/DROP COLUMN/);
    expect(() => r.replaySchemaChange({ sql: 'ALTER TABLE t ADD COLUMN z', schemaVersion: 2 })).toThrow(/version 2 cannot follow version 0/);
    expect(state(r)).toBe(before);
    r.replaySchemaChange({ sql: 'ALTER TABLE t ADD COLUMN z', schemaVersion: 1 });
    expect(r.getSchemaVersion()).toBe(1);
    expect(r.exec('SELECT * FROM t').rows).toEqual([{ id: 'r1', a: 'x', z: null }]);
    r.close();
  });

  it('a fixed ADD / write / DROP / migration script, crashed at every storage write in turn', async () => {
    const script: Op[] = [
      { kind: 'add', migrate: false, name: 1, withDefault: true },
      { kind: 'update', pick: 1, row: 0, value: 1 },
      { kind: 'pause' },
      { kind: 'drop', pick: 0 },
      { kind: 'insert', value: 2 },
      { kind: 'pause' },
      { kind: 'add', migrate: true, name: 2, withDefault: false },
      { kind: 'update', pick: 1, row: 1, value: 3 },
      { kind: 'pause' },
      { kind: 'add', migrate: true, name: 1, withDefault: false },
      { kind: 'delete', row: 0 },
    ];
    for (let crashAfter = 0; crashAfter <= 12; crashAfter++) await crashRun(script, crashAfter);
  });

  it('random ADD/DROP COLUMN and writes, crash at a random storage write: reopen equals an acknowledged state (property)', async () => {
    console.log(`schema change log crash property: FC_SEED=${SEED}`);
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), migrate: fc.boolean(), name: fc.nat({ max: 5 }), withDefault: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), value: fc.nat({ max: 99 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), row: fc.nat(), value: fc.nat({ max: 99 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), row: fc.nat() }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'pause' as const }) },
    );
    Object.assign(seen, { crashedBeforeEnd: 0, acknowledgedAlters: 0, replayedSchemaEntries: 0 });
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 18 }), fc.nat({ max: 14 }), crashRun), { seed: SEED, numRuns: 40 });
    // Both sides of the property must be reached, or it proves nothing.
    expect(seen.crashedBeforeEnd).toBeGreaterThan(0);
    expect(seen.acknowledgedAlters).toBeGreaterThan(0);
    expect(seen.replayedSchemaEntries).toBeGreaterThan(0);
    console.log('schema change log crash property reached:', seen);
  });
});
