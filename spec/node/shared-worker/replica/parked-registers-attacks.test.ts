/**
 * Parked registers (replica/parked-registers.ts) against rows a hostile member (or a peer on
 * another app version) can sign: what one author parks must not keep another author's rows out
 * of their table at enableSync, nor make enableSync fail, and a batch's parked part is held to the
 * same per-batch caps as any batch (protocol/limits.ts, docs/security.md).
 */
import { describe, expect, it } from 'vitest';
import type { ChangeSet, SignedBody } from '../../../../shared-worker/replica/contracts/change-set.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { MAX_TABLES_PER_BATCH } from '../../../../shared-worker/protocol/limits.js';

const ME = '0000000000000001';
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const M = 'eeeeeeeeeeeeeeee';
const NOW = 1_700_000_000_000;
const H = NOW * 1024;
const none: ChangeSet = { nodes: [], tables: [] };
const body = (node: string, hlc: number): SignedBody => ({ node, hlc, body: new Uint8Array([hlc % 251, node.charCodeAt(0)]) });

/** One set of `node` at `hlc`: one row of `table` inserted with a value for `column`. */
function insert(node: string, hlc: number, table: string, key: string, column: string, value: string): ChangeSet {
  return { nodes: [node], tables: [{ table, columns: [column], rows: [{ pk: [key], put: [hlc, 0], del: null, cells: [[0, value, hlc, 0]] }] }] };
}

async function replica() {
  const r = await createReplica({ nodeId: ME, now: () => NOW });
  r.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
  r.enableSync('notes');
  return r;
}

describe('parked registers under attack', () => {
  it("one author's parked cell naming the key column does not keep others' rows out at enableSync", async () => {
    const r = await replica();
    r.applyChanges(none, { signed: [body(A, H + 1)], relayed: insert(A, H + 1, 'lists', 'l1', 'name', 'groceries') });
    // M's signed set writes a cell `id`: the key column of the table enabled later.
    r.applyChanges(none, { signed: [body(M, H + 2)], relayed: insert(M, H + 2, 'lists', 'l2', 'id', 'hijack') });
    r.exec('CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
    r.enableSync('lists');
    expect(r.execLocal('SELECT * FROM lists ORDER BY id').rows).toEqual([{ id: 'l1', name: 'groceries' }]);
  });

  it('cells of one column spelled in two cases by two authors: enableSync succeeds, the newest wins', async () => {
    const r = await replica();
    r.applyChanges(none, { signed: [body(A, H + 1)], relayed: insert(A, H + 1, 'lists', 'l1', 'name', 'old') });
    r.applyChanges(none, { signed: [body(B, H + 2)], relayed: insert(B, H + 2, 'lists', 'l1', 'NAME', 'new') });
    r.exec('CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
    r.enableSync('lists');
    expect(r.syncedTables()).toContain('lists');
    expect(r.execLocal('SELECT * FROM lists').rows).toEqual([{ id: 'l1', name: 'new' }]);
  });

  it('a batch whose parked part names more tables than a batch may is refused whole (BAD_OP)', async () => {
    const r = await replica();
    const vector = r.getVector();
    const tables = Array.from({ length: MAX_TABLES_PER_BATCH + 1 }, (_, i) => insert(M, H + 1, `junk${i}`, 'k', 'name', 'x').tables[0]!);
    for (const key of ['relayed', 'parked'] as const) {
      expect(() => r.applyChanges(none, { signed: [body(M, H + 1)], [key]: { nodes: [M], tables } }), key).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    }
    expect(r.getVector()).toEqual(vector);
  });

  it('a table enabled with other non-key columns than the writer\'s: shared columns merge, the writer\'s extra column is kept and shows once added, a column it lacks takes its default', async () => {
    const r = await replica();
    r.applyChanges(none, { signed: [body(A, H + 1)], relayed: { nodes: [A], tables: [{ table: 'lists', columns: ['name', 'color'], rows: [{ pk: ['l1'], put: [H + 1, 0], del: null, cells: [[0, 'groceries', H + 1, 0], [1, 'red', H + 1, 0]] }] }] } });
    r.exec("CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT, done INTEGER NOT NULL DEFAULT 0)");
    r.enableSync('lists');
    expect(r.execLocal('SELECT * FROM lists').rows).toEqual([{ id: 'l1', name: 'groceries', done: 0 }]);
    r.exec('ALTER TABLE lists ADD COLUMN color TEXT');
    expect(r.execLocal('SELECT color FROM lists').rows).toEqual([{ color: 'red' }]);
  });
});

describe('parked rows that break a rule of the table enabled here', () => {
  for (const [rule, ddl, bad] of [
    ['CHECK', 'CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT CHECK (length(name) < 10))', insert(M, H + 2, 'lists', 'l2', 'name', 'far too long a name')],
    ['NOT NULL without a default', 'CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT, pos INTEGER NOT NULL)', insert(M, H + 2, 'lists', 'l2', 'name', 'no pos')],
  ] as const) {
    it(`${rule}: enableSync succeeds, the other rows merge, the breaking row stays parked (forwarded)`, async () => {
      const r = await replica();
      const ok: ChangeSet = ddl.includes('pos')
        ? { nodes: [A], tables: [{ table: 'lists', columns: ['name', 'pos'], rows: [{ pk: ['l1'], put: [H + 1, 0], del: null, cells: [[0, 'ok', H + 1, 0], [1, 1, H + 1, 0]] }] }] }
        : insert(A, H + 1, 'lists', 'l1', 'name', 'ok');
      r.applyChanges(none, { signed: [body(A, H + 1)], relayed: ok });
      r.applyChanges(none, { signed: [body(M, H + 2)], relayed: bad });
      r.exec(ddl);
      r.enableSync('lists');
      expect(r.syncedTables()).toContain('lists');
      expect(r.execLocal('SELECT id, name FROM lists').rows).toEqual([{ id: 'l1', name: 'ok' }]);
      r.export(); // sweeps: the parked row's body stays
      expect(r.signedSince({}).map((b) => b.node).sort()).toEqual([A, M]);
    });
  }
});
