/**
 * Parked registers (replica/parked-registers.ts, docs/schema-evolution.md "Tables one peer does not
 * sync"), through the Replica contract: rows of others' signed sets in tables not synced here, or
 * that do not fit the table here, are kept (last writer wins) with their bodies, raise the vector,
 * survive an export, are merged when their table is enabled, and are refused as a whole when
 * malformed. Bodies here are opaque bytes: the replica never reads them (sync checks them).
 */
import { describe, expect, it } from 'vitest';
import type { ChangeSet, SignedBody } from '../../../../shared-worker/replica/contracts/change-set.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { dump } from './replica-helpers.js';

const ME = '0000000000000001';
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const NOW = 1_700_000_000_000;
const H = NOW * 1024;

/** One set of `node` at `hlc`: rows of `table` as [key, name] (name null: a delete). */
function set(node: string, hlc: number, table: string, rows: Array<[unknown[], string | null]>): ChangeSet {
  return {
    nodes: [node],
    tables: [{ table, columns: ['name'], rows: rows.map(([pk, name]) => (name === null ? { pk, put: null, del: [hlc, 0], cells: [] } : { pk, put: [hlc, 0], del: null, cells: [[0, name, hlc, 0]] })) as ChangeSet['tables'][number]['rows'] }],
  } as ChangeSet;
}
const body = (node: string, hlc: number): SignedBody => ({ node, hlc, body: new Uint8Array([hlc % 251, node.charCodeAt(0)]) });
const none: ChangeSet = { nodes: [], tables: [] };

async function replica(data?: Uint8Array) {
  const r = await createReplica({ nodeId: ME, now: () => NOW, ...(data ? { data } : {}) });
  if (!data) {
    r.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
    r.enableSync('notes');
  }
  return r;
}

const kept = (r: Awaited<ReturnType<typeof replica>>) => r.signedSince({}).map((b) => `${b.node}:${b.hlc - H}`);

describe('parked registers', () => {
  it('keeps rows of a table not synced here (newest register wins), raises the vector, and merges them at enableSync', async () => {
    const r = await replica();
    // Out of order: A's update (H+3) arrives before its insert (H+1); B deletes l2 at H+2.
    r.applyChanges(none, { signed: [body(A, H + 3)], relayed: set(A, H + 3, 'lists', [[['l1'], 'food']]) });
    r.applyChanges(none, { signed: [body(A, H + 1), body(B, H + 2)], relayed: { nodes: [A, B], tables: [
      { table: 'lists', columns: ['name'], rows: [{ pk: ['l1'], put: [H + 1, 0], del: null, cells: [[0, 'groceries', H + 1, 0]] }, { pk: ['l2'], put: [H + 1, 0], del: null, cells: [[0, 'books', H + 1, 0]] }] },
      { table: 'lists', columns: ['name'], rows: [{ pk: ['l2'], put: null, del: [H + 2, 1], cells: [] }] },
    ] } });
    expect(r.getVector()).toMatchObject({ [A]: H + 3, [B]: H + 2 });
    expect(kept(r)).toEqual([`${A}:3`, `${A}:1`, `${B}:2`]);
    // The file carries them (an export is what a snapshot stores), and its sweep keeps their bodies.
    const r2 = await replica(r.export());
    expect(kept(r2)).toEqual([`${A}:3`, `${A}:1`, `${B}:2`]);
    r2.exec('CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
    r2.enableSync('lists');
    expect(r2.execLocal('SELECT * FROM lists ORDER BY id').rows).toEqual([{ id: 'l1', name: 'food' }]);
    // Merged registers carry the stamps: the table's delta holds them, bodies stay kept.
    expect(r2.changesSince({}, { tables: ['lists'] }).tables[0]!.rows.map((x) => x.pk)).toEqual([['l1'], ['l2']]);
    r2.export();
    expect(kept(r2).sort()).toEqual([`${A}:1`, `${A}:3`, `${B}:2`].sort());
  });

  it('merges relayed rows that fit a synced table at once; rows that do not fit, and `parked` rows, are kept and stay out', async () => {
    const r = await replica();
    r.applyChanges(none, {
      signed: [body(A, H + 1), body(B, H + 2)],
      relayed: { nodes: [A], tables: [{ table: 'notes', columns: ['name'], rows: [{ pk: ['n1'], put: [H + 1, 0], del: null, cells: [[0, 'fits', H + 1, 0]] }, { pk: [7], put: [H + 1, 0], del: null, cells: [[0, 'number key', H + 1, 0]] }] }] },
      parked: set(B, H + 2, 'notes', [[['n2'], 'excluded']]),
    });
    expect(r.execLocal('SELECT * FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', name: 'fits' }]);
    r.export(); // sweeps
    expect(kept(r)).toEqual([`${A}:1`, `${B}:2`]);
    expect(r.getVector()).toMatchObject({ [A]: H + 1, [B]: H + 2 });
  });

  it('a table whose key differs: its rows stay parked at enableSync, the fitting ones merge', async () => {
    const r = await replica();
    r.applyChanges(none, { signed: [body(A, H + 1)], relayed: { nodes: [A], tables: [{ table: 'lists', columns: ['name'], rows: [
      { pk: [1, 'x'], put: [H + 1, 0], del: null, cells: [[0, 'two keys', H + 1, 0]] },
      { pk: [2], put: [H + 1, 0], del: null, cells: [[0, 'one key', H + 1, 0]] },
    ] }] } });
    r.exec('CREATE TABLE lists (id INTEGER PRIMARY KEY, name TEXT)');
    r.enableSync('lists');
    expect(r.execLocal('SELECT * FROM lists').rows).toEqual([{ id: 2, name: 'one key' }]);
    r.export();
    expect(kept(r)).toEqual([`${A}:1`]);
  });

  it('a superseded parked set is swept, the newest stays (bounded like a synced table)', async () => {
    const r = await replica();
    for (let i = 1; i <= 5; i++) r.applyChanges(none, { signed: [body(A, H + i)], relayed: set(A, H + i, 'lists', [[['l1'], `v${i}`]]) });
    expect(kept(r)).toHaveLength(5);
    r.export();
    expect(kept(r)).toEqual([`${A}:5`]);
  });

  it('refuses malformed registers to park as a whole (BAD_OP), changing nothing', async () => {
    const r = await replica();
    r.applyChanges(set(A, H + 1, 'notes', [[['n1'], 'x']]));
    const before = { dump: dump(r), vector: r.getVector(), kept: kept(r) };
    const bad: Array<[string, ChangeSet]> = [
      ['a null key', set(B, H + 2, 'lists', [[[null], 'x']])],
      ['an empty key', set(B, H + 2, 'lists', [[[], 'x']])],
      ['a bad node id', set('nope', H + 2, 'lists', [[['l1'], 'x']])],
      ['an internal table', set(B, H + 2, '_rb_nodes', [[['l1'], 'x']])],
      ['a bad hlc', set(B, -1, 'lists', [[['l1'], 'x']])],
      ['an object value', { nodes: [B], tables: [{ table: 'lists', columns: ['name'], rows: [{ pk: ['l1'], put: null, del: null, cells: [[0, { evil: 1 } as never, H + 2, 0]] }] }] }],
      ['a cell column out of range', { nodes: [B], tables: [{ table: 'lists', columns: ['name'], rows: [{ pk: ['l1'], put: null, del: null, cells: [[3, 'x', H + 2, 0]] }] }] }],
    ];
    for (const [what, cs] of bad) {
      for (const key of ['relayed', 'parked'] as const) {
        expect(() => r.applyChanges(set(B, H + 3, 'notes', [[['n2'], 'y']]), { signed: [body(B, H + 2)], [key]: cs }), `${what} (${key})`).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
      }
    }
    expect({ dump: dump(r), vector: r.getVector(), kept: kept(r) }).toEqual(before);
  });
});
