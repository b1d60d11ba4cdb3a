import { describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { MAX_ROWS_PER_BATCH } from '../../../../shared-worker/protocol/limits.js';
import { MAX_VALUE_BYTES } from '../../../../shared-worker/protocol/limits.js';
import { syncedReplica } from './replica-helpers.js';

const NOW = 1_700_000_000_000;
const H = hlcFromMs(NOW - 1_000);

function good(): ChangeSet {
  return {
    nodes: ['1000000000000001'],
    tables: [
      {
        table: 'items',
        columns: ['title', 'qty'],
        rows: [
          { pk: ['ok-row'], put: [H, 0], del: null, cells: [[0, 'fine', H, 0], [1, 1, H, 0]] },
          { pk: ['x'], put: [H, 0], del: null, cells: [[0, 'hello', H, 0]] },
        ],
      },
    ],
  };
}

/** Mutates the second row (or the batch) of a good batch; the first row is valid and must not land either. */
const CASES: Array<[string, (cs: any) => void, string]> = [
  ['value is an object', (cs) => (cs.tables[0].rows[1].cells[0][1] = { evil: 1 }), 'BAD_OP'],
  ['value is NaN', (cs) => (cs.tables[0].rows[1].cells[0][1] = Number.NaN), 'BAD_OP'],
  ['value is Infinity', (cs) => (cs.tables[0].rows[1].cells[0][1] = Infinity), 'BAD_OP'],
  ['value is a bigint', (cs) => (cs.tables[0].rows[1].cells[0][1] = 10n), 'BAD_OP'],
  ['value is a boolean', (cs) => (cs.tables[0].rows[1].cells[0][1] = true), 'BAD_OP'],
  ['value is a Uint16Array', (cs) => (cs.tables[0].rows[1].cells[0][1] = new Uint16Array(2)), 'BAD_OP'],
  ['value is a huge string', (cs) => (cs.tables[0].rows[1].cells[0][1] = 'x'.repeat(MAX_VALUE_BYTES + 1)), 'BAD_OP'],
  ['value is a huge multi-byte string', (cs) => (cs.tables[0].rows[1].cells[0][1] = 'é'.repeat(MAX_VALUE_BYTES / 2 + 1)), 'BAD_OP'],
  ['value is a huge blob', (cs) => (cs.tables[0].rows[1].cells[0][1] = new Uint8Array(MAX_VALUE_BYTES + 1)), 'BAD_OP'],
  ['unknown table', (cs) => (cs.tables[0].table = 'nope'), 'BAD_OP'],
  ['internal table', (cs) => (cs.tables[0].table = '_rb_meta'), 'BAD_OP'],
  ['internal clock table', (cs) => (cs.tables[0].table = '_rb_c1'), 'BAD_OP'],
  ['sqlite_master', (cs) => (cs.tables[0].table = 'sqlite_master'), 'BAD_OP'],
  ['sqlite_schema', (cs) => (cs.tables[0].table = 'SQLITE_SCHEMA'), 'BAD_OP'],
  ['empty column name', (cs) => (cs.tables[0].columns[1] = ''), 'BAD_OP'],
  ['column name not a string', (cs) => (cs.tables[0].columns[1] = 7), 'BAD_OP'],
  ['rowid as a cell', (cs) => (cs.tables[0].columns[1] = 'ROWID'), 'BAD_OP'],
  ['key column as a cell', (cs) => (cs.tables[0].columns[1] = 'id'), 'BAD_OP'],
  ['repeated column', (cs) => (cs.tables[0].columns[1] = 'TITLE'), 'BAD_OP'],
  ['pk arity too small', (cs) => (cs.tables[0].rows[1].pk = []), 'BAD_OP'],
  ['pk arity too large', (cs) => (cs.tables[0].rows[1].pk = ['x', 'y']), 'BAD_OP'],
  ['null pk', (cs) => (cs.tables[0].rows[1].pk = [null]), 'BAD_OP'],
  ['node index out of range', (cs) => (cs.tables[0].rows[1].cells[0][3] = 1), 'BAD_OP'],
  ['negative node index', (cs) => (cs.tables[0].rows[1].put = [H, -1]), 'BAD_OP'],
  ['fractional node index', (cs) => (cs.tables[0].rows[1].put = [H, 0.5]), 'BAD_OP'],
  ['negative hlc', (cs) => (cs.tables[0].rows[1].cells[0][2] = -5), 'BAD_OP'],
  ['fractional hlc', (cs) => (cs.tables[0].rows[1].put = [H + 0.5, 0]), 'BAD_OP'],
  ['hlc beyond 2^53', (cs) => (cs.tables[0].rows[1].del = [2 ** 60, 0]), 'BAD_OP'],
  ['hlc as string', (cs) => (cs.tables[0].rows[1].del = ['5', 0]), 'BAD_OP'],
  ['cell column index out of range', (cs) => (cs.tables[0].rows[1].cells[0][0] = 2), 'BAD_OP'],
  ['cell tuple too short', (cs) => (cs.tables[0].rows[1].cells[0] = [0, 'v', H]), 'BAD_OP'],
  ['put is not a tuple', (cs) => (cs.tables[0].rows[1].put = { hlc: H }), 'BAD_OP'],
  ['empty node id', (cs) => (cs.nodes[0] = ''), 'BAD_OP'],
  ['overlong node id', (cs) => (cs.nodes[0] = 'a'.repeat(65)), 'BAD_OP'],
  ['node id with odd characters', (cs) => (cs.nodes[0] = 'peer 1; --'), 'BAD_OP'],
  ['node id not a string', (cs) => (cs.nodes[0] = 42), 'BAD_OP'],
  ['rows not an array', (cs) => (cs.tables[0].rows = {}), 'BAD_OP'],
  ['too many rows', (cs) => (cs.tables[0].rows = new Array(MAX_ROWS_PER_BATCH + 1).fill(cs.tables[0].rows[0])), 'BAD_OP'],
  ['stamp from the far future (SKEW)', (cs) => (cs.tables[0].rows[1].put = [hlcFromMs(NOW + 3_600_000), 0]), 'SKEW'],
];

describe('applyChanges refuses hostile batches as a whole', () => {
  it.each(CASES)('%s -> %s, database unchanged', async (_name, mutate, code) => {
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', undefined, undefined, NOW);
    b.exec("INSERT INTO items VALUES ('x', 'mine', 5, 'n')");
    const before = { bytes: b.export(), vector: b.getVector(), version: b.getVersion() };
    const cs = good();
    mutate(cs);
    expect(() => b.applyChanges(cs)).toThrow(expect.objectContaining({ code }));
    expect(Buffer.from(b.export()).equals(Buffer.from(before.bytes))).toBe(true);
    expect(b.getVector()).toEqual(before.vector);
    expect(b.getVersion()).toBe(before.version);
    // ...and the clock did not move past the refused stamp.
    b.exec("UPDATE items SET qty = 6 WHERE id = 'x'");
    const stamp = b.changesSince({}).tables[0]!.rows[0]!.put![0];
    expect(stamp).toBeLessThan(hlcFromMs(NOW + 1_000));
  });

  it('the unmodified batch applies (the cases above fail for their own reason)', async () => {
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', undefined, undefined, NOW);
    expect(b.applyChanges(good()).applied).toBe(5);
    expect(b.exec('SELECT id, title FROM items ORDER BY id').rows).toEqual([{ id: 'ok-row', title: 'fine' }, { id: 'x', title: 'hello' }]);
  });

  it('an unknown column name is data, never SQL: its cells are kept as extra cells and the tables stay intact', async () => {
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', undefined, undefined, NOW);
    const cs = good();
    cs.tables[0]!.columns[1] = 'a"; DROP TABLE items; --';
    expect(b.applyChanges(cs).applied).toBe(5);
    expect(b.exec('SELECT id, title, qty FROM items ORDER BY id').rows).toEqual([{ id: 'ok-row', title: 'fine', qty: null }, { id: 'x', title: 'hello', qty: null }]);
    const out = b.changesSince({}).tables[0]!;
    expect(out.columns).toContain('a"; DROP TABLE items; --');
  });

  it('trusted replay skips only the skew check', async () => {
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', undefined, undefined, NOW);
    const cs = good();
    cs.tables[0]!.rows[1]!.put = [hlcFromMs(NOW + 3_600_000), 0];
    expect(b.applyChanges(cs, { trusted: true }).applied).toBe(5);
    b.exec("UPDATE items SET qty = 7 WHERE id = 'x'");
    const row = b.changesSince({}).tables[0]!.rows.find((r) => r.pk[0] === 'x')!;
    expect(row.put![0]).toBeGreaterThan(hlcFromMs(NOW + 3_600_000));
  });

  it.each([
    ['not an object', 'vector'],
    ['negative entry', { peer1: -1 }],
    ['non-integer entry', { peer1: 1.5 }],
    ['bad node id key', { 'bad id': 1 }],
    ['an array', [1, 2]],
  ])('changesSince refuses a malformed vector (%s)', async (_name, vector) => {
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb');
    expect(() => b.changesSince(vector as never)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
  });

  it('a merged row that breaks a local CHECK fails as a whole (BAD_OP), nothing applied', async () => {
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', 'CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER CHECK (qty >= 0), note TEXT)', 'items', NOW);
    const before = b.export();
    const cs = good();
    cs.tables[0]!.rows[1]!.cells.push([1, -1, H, 0]);
    expect(() => b.applyChanges(cs)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(Buffer.from(b.export()).equals(Buffer.from(before))).toBe(true);
  });

  it('a merged row without a value for a NOT NULL column without DEFAULT is parked, the rest applied (parked-not-null.test.ts)', async () => {
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', 'CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL, qty INTEGER, note TEXT)', 'items', NOW);
    const cs = good();
    cs.tables[0]!.rows[1]!.cells = [];
    const commits: Commit[] = [];
    b.onCommit((c) => commits.push(c));
    expect(b.applyChanges(cs).applied).toBeGreaterThan(0);
    expect(b.execLocal('SELECT id, title FROM items').rows).toEqual([{ id: 'ok-row', title: 'fine' }]);
    expect(commits[0]!.parked?.tables[0]!.rows.map((r) => r.pk)).toEqual([['x']]);
  });
});
