import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChangeSet, RowDelta } from '../../../../shared-worker/replica/contracts/change-set.js';
import { encode } from '@msgpack/msgpack';
import { estimateBytes, orderedPieces, restrictToTables, vectorOfChanges } from '../../../../shared-worker/sync/delta-pieces.js';

const SEED = 20261123;

/** Every register as "table|pk|kind|hlc|node|value", for multiset comparison. */
function registers(cs: ChangeSet): string[] {
  const out: string[] = [];
  for (const t of cs.tables) {
    for (const r of t.rows) {
      const k = `${t.table}|${JSON.stringify(r.pk)}`;
      if (r.put) out.push(`${k}|put|${r.put[0]}|${cs.nodes[r.put[1]]}`);
      if (r.del) out.push(`${k}|del|${r.del[0]}|${cs.nodes[r.del[1]]}`);
      for (const c of r.cells) out.push(`${k}|${t.columns[c[0]]}|${c[2]}|${cs.nodes[c[3]]}|${JSON.stringify(c[1])}`);
    }
  }
  return out.sort();
}

function hlcsOf(cs: ChangeSet): number[] {
  return cs.tables.flatMap((t) => t.rows.flatMap((r) => [...(r.put ? [r.put[0]] : []), ...(r.del ? [r.del[0]] : []), ...r.cells.map((c) => c[2])]));
}

const stamp = fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 2 }));
const rowArb = (cols: number) =>
  fc.record({
    pk: fc.tuple(fc.string({ maxLength: 3 })),
    put: fc.option(stamp, { nil: null }),
    del: fc.option(stamp, { nil: null }),
    cells: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: cols - 1 }), fc.integer(), stamp), { selector: (c) => c[0], maxLength: cols }),
  }).map((r): RowDelta => ({ pk: r.pk, put: r.put, del: r.del, cells: r.cells.map(([c, v, [h, n]]) => [c, v, h, n]) }));

const changeSetArb: fc.Arbitrary<ChangeSet> = fc
  .record({ a: fc.array(rowArb(3), { maxLength: 30 }), b: fc.array(rowArb(2), { maxLength: 30 }) })
  .map(({ a, b }) => ({ nodes: ['n0', 'n1', 'n2'], tables: [{ table: 'a', columns: ['x', 'y', 'z'], rows: a }, { table: 'b', columns: ['p', 'q'], rows: b }] }));

describe('orderedPieces', () => {
  it(`keeps every register and makes every prefix of pieces closed under "hlc <=" (seed ${SEED})`, () => {
    fc.assert(
      fc.property(changeSetArb, fc.integer({ min: 1, max: 10 }), (cs, pieceRows) => {
        const pieces = orderedPieces(cs, { pieceRows, maxUnsplitRows: 1_000, maxPieceBytes: 1e9 });
        expect(registers({ nodes: cs.nodes, tables: pieces.flatMap((p) => p.tables) })).toEqual(registers(cs));
        for (let k = 1; k < pieces.length; k++) {
          const before = vectorOfChanges({ nodes: cs.nodes, tables: pieces.slice(0, k).flatMap((p) => p.tables) });
          const after = pieces.slice(k).flatMap(hlcsOf);
          const maxBefore = Math.max(0, ...Object.values(before));
          if (after.length === 0) continue;
          // Cuts fall between hlc values: nothing after a cut is at or below anything before it.
          expect(Math.min(...after)).toBeGreaterThan(maxBefore);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('packs whole hlc groups up to pieceRows, and splits only a group above maxUnsplitRows', () => {
    const rows = (n: number, hlc: number): RowDelta[] => Array.from({ length: n }, (_, i) => ({ pk: [`${hlc}-${i}`], put: [hlc, 0], del: null, cells: [[0, i, hlc, 0]] }));
    const cs: ChangeSet = { nodes: ['n'], tables: [{ table: 't', columns: ['v'], rows: [...rows(3, 1), ...rows(3, 2), ...rows(10, 3), ...rows(1, 4)] }] };
    const sizes = (p: ChangeSet[]) => p.map((x) => x.tables.reduce((n, t) => n + t.rows.length, 0));
    expect(sizes(orderedPieces(cs, { pieceRows: 6, maxUnsplitRows: 100, maxPieceBytes: 1e9 }))).toEqual([6, 10, 1]);
    expect(sizes(orderedPieces(cs, { pieceRows: 6, maxUnsplitRows: 4, maxPieceBytes: 1e9 }))).toEqual([3, 3, 4, 4, 2, 1]);
    // By size: every row here is estimated at 58 + (5 + 3 × 3) for the key + 20 + 9 for the cell = 101 bytes.
    expect(sizes(orderedPieces(cs, { pieceRows: 100, maxUnsplitRows: 100, maxPieceBytes: 6 * 101 }))).toEqual([6, 6, 4, 1]);
    expect(sizes(orderedPieces(cs, { pieceRows: 100, maxUnsplitRows: 100, maxPieceBytes: 6 * 101 - 1 }))).toEqual([3, 3, 5, 5, 1]);
    expect(orderedPieces({ nodes: [], tables: [] }, { pieceRows: 6, maxUnsplitRows: 100, maxPieceBytes: 1e9 })).toEqual([]);
  });

  it(`estimateBytes is an upper bound of the encoded row (seed ${SEED})`, () => {
    const value = fc.oneof(fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.string({ unit: 'binary' }), fc.uint8Array());
    const stampArb = fc.tuple(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 2 ** 32 - 1 }));
    const rowArb2 = fc.record({
      pk: fc.array(value, { minLength: 1, maxLength: 3 }),
      put: fc.option(stampArb, { nil: null }),
      del: fc.option(stampArb, { nil: null }),
      cells: fc.array(fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), value, fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 2 ** 32 - 1 }))),
    });
    fc.assert(
      fc.property(rowArb2, (row) => {
        expect(encode(row).length).toBeLessThanOrEqual(estimateBytes(row as RowDelta));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('restrictToTables keeps only the named tables', () => {
    const cs: ChangeSet = { nodes: [], tables: [{ table: 'a', columns: [], rows: [] }, { table: 'b', columns: [], rows: [] }] };
    expect(restrictToTables(cs, new Set(['b'])).tables.map((t) => t.table)).toEqual(['b']);
    expect(restrictToTables(cs, new Set(['a', 'b']))).toBe(cs);
  });
});
