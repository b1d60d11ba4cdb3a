/**
 * The set-based merge (merge.ts, TableMerge.run: chunks of distinct keys, live registers read per
 * chunk, updates of live rows written per chunk) must decide exactly as the row-by-row merge.
 * The row-by-row path is what a replica with a user trigger runs (the order of its writes is then
 * observable), so two receivers, one with an unrelated trigger and one without, get the same
 * random batches: large enough for chunks (>= 16 rows), with repeated keys within a batch,
 * stamps that tie on hlc across nodes, deletes, resurrections, partial cells and columns the
 * receiver lacks. After every batch both must hold the same tables and registers, and report
 * the same applied count and forwarded change set. Seeded: FC_SEED replays a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { CellChange, ChangeSet, RowDelta, SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { dump, registers } from './replica-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);
const RUNS = Number(process.env.FC_RUNS ?? 60);
const NOW = 1_700_000_000_000;
const NODES = ['aaaaaaaaaaaaaaa1', 'bbbbbbbbbbbbbbb2', 'ccccccccccccccc3'];
const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);
const DDL = 'CREATE TABLE kv(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c); CREATE TABLE pair(x TEXT NOT NULL, y INTEGER NOT NULL, v, PRIMARY KEY (x, y))';
// kv's columns as peers send them: `extra` is a column the receivers lack (an unknown cell).
const KV_COLUMNS = ['a', 'b', 'c', 'extra'];

const value = fc.oneof(fc.constant(null), fc.constantFrom('x', 'y', ''), fc.integer({ min: -3, max: 3 }), fc.constant(1.5), fc.uint8Array({ maxLength: 2 }));
// Few distinct hlcs and three nodes: equal hlcs force the node tie-break.
const stamp = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat(NODES.length - 1)).map(([t, n]) => [hlcFromMs(NOW) + t, n] as [number, number]);

const cells = (columns: number): fc.Arbitrary<CellChange[]> =>
  fc.uniqueArray(fc.tuple(fc.nat(columns - 1), value, stamp), { maxLength: columns, selector: (c) => c[0] })
    .map((cs) => cs.map(([c, v, [h, n]]) => [c, v, h, n] as CellChange));

const row = (pk: fc.Arbitrary<SqlValue[]>, columns: number): fc.Arbitrary<RowDelta> =>
  fc.record({ pk, put: fc.option(stamp, { freq: 3 }), del: fc.option(stamp, { freq: 2 }), cells: cells(columns) });

const kvRows = fc.array(row(fc.constantFrom(...KEYS).map((k) => [k]), KV_COLUMNS.length), { minLength: 16, maxLength: 90 });
const pairRows = fc.array(row(fc.tuple(fc.constantFrom('p', 'q', 'r', 's', 't'), fc.integer({ min: 0, max: 5 })).map(([x, y]) => [x, y]), 1), { minLength: 0, maxLength: 40 });

const batch: fc.Arbitrary<ChangeSet> = fc.tuple(kvRows, pairRows).map(([kv, pair]) => ({
  nodes: NODES,
  tables: [{ table: 'kv', columns: KV_COLUMNS, rows: kv }, { table: 'pair', columns: ['v'], rows: pair }],
}));

async function receiver(nodeId: string, rowByRow: boolean): Promise<Replica> {
  const r = await createReplica({ nodeId, now: () => NOW });
  r.exec(DDL);
  r.enableSync('kv');
  r.enableSync('pair');
  if (rowByRow) r.exec('CREATE TABLE z(x); CREATE TRIGGER z_noop AFTER INSERT ON z BEGIN SELECT 1; END');
  return r;
}

describe('set-based merge', () => {
  it('matches the row-by-row merge on random batches (tables, registers, applied, forwarded changes)', async () => {
    console.log(`set-merge property seed ${SEED}`);
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 4 }), async (batches) => {
        const set = await receiver('ddddddddddddddd4', false);
        const perRow = await receiver('ddddddddddddddd4', true);
        try {
          for (const b of batches) {
            const x = set.applyChanges(structuredClone(b));
            const y = perRow.applyChanges(structuredClone(b));
            expect(x.applied).toBe(y.applied);
            expect(JSON.stringify(x.changes)).toBe(JSON.stringify(y.changes));
            expect(dump(set)).toBe(dump(perRow));
            expect(registers(set)).toBe(registers(perRow));
          }
        } finally {
          set.close();
          perRow.close();
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
