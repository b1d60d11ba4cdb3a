/**
 * Background snapshots (durable-log.ts, snapshot-store.ts format 2) over the real replica: taken
 * while writes go on, stored in pieces, switched to in one transaction; a crash at any storage
 * write (a piece, the switch, a log group) must reopen to what some prefix of the writes left,
 * at least every acknowledged one, and leave no piece behind that no snapshot uses.
 * Seeded: FC_SEED replays a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { PIECE_BYTES } from '../../../../shared-worker/persistence/snapshot-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { armCrash, withCopySteps } from './durable-helpers.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);
const RUNS = Number(process.env.FC_RUNS ?? 40);

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Storage holding a synced table of ~5.5 MB (two snapshot pieces), as a format 1 snapshot. */
let template: Map<string, unknown> | null = null;
async function seeded(): Promise<Map<string, unknown>> {
  if (!template) {
    const store = new MemoryKeyValueStore();
    const d = await openDurableReplica({ store, createReplica, warn: () => {} });
    await d.exec('CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, body BLOB, n INTEGER)');
    await d.enableSync('items');
    await d.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
      INSERT INTO items SELECT printf('seed-%05d', i), zeroblob(900), i FROM c`);
    await d.snapshot();
    await d.close();
    template = store.data;
  }
  return new Map([...template].map(([k, v]) => [k, structuredClone(v)]));
}

type Op = { kind: 'insert' | 'update' | 'delete'; i: number };
const op = fc.record({ kind: fc.constantFrom('insert', 'update', 'delete'), i: fc.nat(40) }) as fc.Arbitrary<Op>;

function render(o: Op, n: number): [string, (string | number)[]] {
  const id = `seed-${String(o.i + 1).padStart(5, '0')}`;
  if (o.kind === 'insert') return ['INSERT OR REPLACE INTO items VALUES (?, zeroblob(100), ?)', [`w-${o.i}`, n]];
  if (o.kind === 'update') return ['UPDATE items SET n = ? WHERE id = ?', [n, id]];
  return ['DELETE FROM items WHERE id = ? OR id = ?', [id, `w-${o.i}`]];
}

async function dump(r: { exec(sql: string): unknown }): Promise<string> {
  const res = (await r.exec('SELECT id, n, length(body) AS len FROM items ORDER BY id')) as { rows: unknown[] };
  return JSON.stringify(res.rows);
}

function metaOf(data: Map<string, unknown>): { format: number; pieces?: string[]; snapshotSeq: number } {
  return data.get('meta') as { format: number; pieces?: string[]; snapshotSeq: number };
}

/** Every piece in storage belongs to the current snapshot. */
function expectNoOrphans(data: Map<string, unknown>): void {
  const current = new Set(metaOf(data).pieces ?? []);
  expect([...data.keys()].filter((k) => k.startsWith('snap:') && !current.has(k))).toEqual([]);
}

describe('background snapshots', () => {
  it('are taken while writes go on, in pieces, and replace the log entries and the old snapshot they cover', async () => {
    const data = await seeded();
    expect(metaOf(data).format).toBe(1);
    const store = new MemoryKeyValueStore({ data });
    const d = await openDurableReplica({ store, createReplica, snapshotEvery: { records: 5 }, warn: () => {} });
    const writes: Promise<unknown>[] = [];
    for (let n = 0; n < 60; n++) {
      const [sql, params] = render({ kind: n % 3 === 0 ? 'delete' : n % 3 === 1 ? 'insert' : 'update', i: n % 41 }, n);
      writes.push(d.exec(sql, params));
      await macrotask(); // writes land between the copy's steps
    }
    await Promise.all(writes);
    await d.settled();
    const meta = metaOf(data);
    expect(meta.format).toBe(2);
    expect(meta.snapshotSeq).toBeGreaterThan(0);
    expect(meta.pieces!.length).toBeGreaterThan(1); // more than PIECE_BYTES of file
    expect((data.get(meta.pieces![0]!) as Uint8Array).byteLength).toBe(PIECE_BYTES);
    expect(data.has('snap')).toBe(false);
    expect([...data.keys()].filter((k) => k.startsWith('log:')).every((k) => Number(k.slice(4)) > meta.snapshotSeq)).toBe(true);
    expectNoOrphans(data);
    const before = await dump(d);
    await d.close();
    const again = await openDurableReplica({ store: store.reopen(), createReplica, warn: () => {} });
    expect(await dump(again)).toBe(before);
    // A snapshot taken with a group (format 1) replaces pieces again.
    await again.exec('INSERT INTO items VALUES (?, NULL, 0)', ['after']);
    await again.snapshot();
    expect(metaOf(data).format).toBe(1);
    expectNoOrphans(data);
    await again.close();
  }, 120_000);

  it('cover only the commits in the copy, not those that join the same group after it completed', async () => {
    const data = await seeded();
    const store = new MemoryKeyValueStore({ data });
    let d!: DurableReplicaHandle;
    let n = 0;
    const wrapped = withCopySteps(createReplica, (pages, step) => {
      void d.exec('INSERT INTO items VALUES (?, NULL, 0)', [`in-copy-${n++}`]); // before the step: in the copy
      const done = step(pages);
      // After the copy completed, while the group holding the write above still gathers.
      if (done) queueMicrotask(() => { void d.exec('INSERT INTO items VALUES (?, NULL, 0)', [`after-copy-${n++}`]); });
      return done;
    });
    d = await openDurableReplica({ store, createReplica: wrapped, snapshotEvery: { records: 3 }, warn: () => {} });
    for (let i = 0; i < 4; i++) await d.exec('INSERT INTO items VALUES (?, NULL, 1)', [`w-${i}`]);
    await d.settled();
    expect(metaOf(data).format).toBe(2);
    const before = await dump(d);
    expect(before).toContain('after-copy-');
    await d.close();
    const again = await openDurableReplica({ store: store.reopen(), createReplica, warn: () => {} });
    expect(await dump(again)).toBe(before);
    await again.close();
  }, 120_000);

  it('lose nothing acknowledged when the worker dies at any storage write (seeded crash points)', async () => {
    console.log(`background-snapshot crash property seed ${SEED}`);
    let switched = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 3, maxLength: 25 }),
        fc.array(fc.nat(4), { minLength: 25, maxLength: 25 }),
        fc.nat(30),
        fc.constantFrom(1, 2, 4),
        async (ops, pauses, crashAt, records) => {
          const data = await seeded();
          // What each prefix of the ops leaves (a twin on the same start; the ops are deterministic).
          const twin: Replica = await createReplica({ data: (await openTwinFile(data)) });
          const prefixes = [await dump(twin)];
          for (const [n, o] of ops.entries()) {
            const [sql, params] = render(o, n);
            twin.exec(sql, params);
            prefixes.push(await dump(twin));
          }
          twin.close();

          const store = new MemoryKeyValueStore({ data });
          const d: DurableReplicaHandle = await openDurableReplica({ store, createReplica, snapshotEvery: { records }, warn: () => {} });
          const crash = armCrash(store, crashAt);
          let acked = 0;
          const execs: Promise<unknown>[] = [];
          for (const [n, o] of ops.entries()) {
            const [sql, params] = render(o, n);
            execs.push(d.exec(sql, params).then(() => { acked = Math.max(acked, n + 1); }, () => {}));
            for (let p = 0; p < pauses[n]!; p++) await macrotask();
          }
          // The background copy and pieces run to their end unless the worker dies first; it dies
          // then at the latest (its later writes are dropped and never settle).
          await crash.doneOrDead(Promise.all(execs).then(() => d.settled()));
          if (metaOf(data).format === 2) switched++;
          const reopened = await openDurableReplica({ store: store.reopen(), createReplica, warn: () => {} });
          try {
            const now = await dump(reopened);
            const at = prefixes.findIndex((p, i) => i >= acked && p === now);
            expect(at, `acknowledged ${acked} of ${ops.length}, crash after ${crashAt} writes`).toBeGreaterThanOrEqual(0);
            await reopened.settled();
            expectNoOrphans(data);
          } finally {
            await reopened.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    expect(switched, 'some cases must have switched to a background snapshot').toBeGreaterThan(0);
  }, 600_000);
});

/** The template's database file, for the twin (format 1: the `snap` value). */
async function openTwinFile(data: Map<string, unknown>): Promise<Uint8Array> {
  return structuredClone(data.get('snap') as Uint8Array);
}
