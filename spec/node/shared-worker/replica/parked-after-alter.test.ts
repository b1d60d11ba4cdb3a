/**
 * Parked rows of a table synced here are merged once an ADD/DROP COLUMN of it makes them fit
 * (docs/schema-evolution.md, "Tables one peer does not sync"): rows a sender's hello excluded
 * (`parked`) are counted in the vector, so no peer sends them again; the ALTER (exec, migration
 * step, or its replay) merges them with their own stamps, last writer wins, in its transaction.
 * Rows that still do not fit, and a row breaking a rule of the table, stay parked.
 */
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import type { ChangeSet, RowDelta, SignedBody, SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { dump, registers } from './replica-helpers.js';

const ME = '0000000000000001';
const A = 'aaaaaaaaaaaaaaaa';
const NOW = 1_700_000_000_000;
const H = NOW * 1024;
const none: ChangeSet = { nodes: [], tables: [] };
const body = (hlc: number): SignedBody => ({ node: A, hlc, body: new Uint8Array([hlc % 251, 9]) });

/** A's inserts into `table` at `hlc`, one row per key: [key, { column: value }]. */
function inserts(hlc: number, table: string, rows: Array<[SqlValue[], Record<string, SqlValue>]>): ChangeSet {
  const columns = [...new Set(rows.flatMap(([, v]) => Object.keys(v)))];
  const out: RowDelta[] = rows.map(([pk, v]) => ({ pk, put: [hlc, 0], del: null, cells: Object.entries(v).map(([c, x]) => [columns.indexOf(c), x, hlc, 0]) }));
  return { nodes: [A], tables: [{ table, columns, rows: out }] };
}

/** Parks A's rows as a sender's own rows of a table its hello excluded (sync passes them as `parked`). */
const park = (r: Replica, hlc: number, table: string, rows: Array<[SqlValue[], Record<string, SqlValue>]>) =>
  r.applyChanges(none, { signed: [body(hlc)], parked: inserts(hlc, table, rows) });

const SQL = await initSqlJs();
/** Keys (JSON) parked for `table`, read from the exported file. */
function parkedKeys(r: Replica, table: string): number {
  const db = new SQL.Database(r.export());
  try {
    return Number(db.exec('SELECT count(DISTINCT pk) FROM _rb_parked WHERE tbl = ?', [table])[0]!.values[0]![0]);
  } finally {
    db.close();
  }
}

async function notes(ddl = 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT, x INTEGER)', data?: Uint8Array): Promise<Replica> {
  const r = await createReplica({ nodeId: ME, now: () => NOW, ...(data ? { data } : {}) });
  if (!data) {
    r.exec(ddl);
    r.enableSync('notes');
  }
  return r;
}

const rows = (r: Replica) => r.execLocal('SELECT * FROM notes ORDER BY id').rows;

/** Registers of key `id` of notes, by author: who wrote the row's put and each cell. */
function authors(r: Replica, id: string): string[] {
  const cs = r.changesSince({}, { tables: ['notes'] });
  const row = cs.tables[0]?.rows.find((x) => x.pk[0] === id);
  return row ? [row.put ? cs.nodes[row.put[1]]! : '-', ...row.cells.map((c) => `${cs.tables[0]!.columns[c[0]]}:${cs.nodes[c[3]]}`)] : [];
}

describe('parked rows merged after an ALTER of their table', () => {
  it('DROP COLUMN: the excluded rows appear with their own stamps, last writer wins, the unfit row stays parked, watchers hear it', async () => {
    const r = await notes();
    r.exec("INSERT INTO notes VALUES ('n1', 'mine, older', 1), ('n3', 'mine', 3)");
    park(r, H + 10, 'notes', [[['n1'], { name: 'theirs, newer', x: 'text x' }], [['n2'], { name: 'theirs', x: 'x2' }], [['n3'], { name: 'theirs, older' }]]);
    park(r, H + 12, 'notes', [[['k', 2], { name: 'two keys' }]]);
    // A relayed row whose key is not stored as the key column stores it (a number for TEXT).
    r.applyChanges(none, { signed: [body(H + 13)], relayed: inserts(H + 13, 'notes', [[[7], { name: 'number key' }]]) });
    r.exec("UPDATE notes SET name = 'mine, newer' WHERE id = 'n3'");
    // Parked: nothing shows yet.
    expect(rows(r)).toEqual([{ id: 'n1', name: 'mine, older', x: 1 }, { id: 'n3', name: 'mine, newer', x: 3 }]);
    const mine = r.getVector()[ME];
    const seen: Commit[] = [];
    r.onCommit((c) => seen.push(c));

    r.exec('ALTER TABLE notes DROP COLUMN x');
    expect(rows(r)).toEqual([{ id: 'n1', name: 'theirs, newer' }, { id: 'n2', name: 'theirs' }, { id: 'n3', name: 'mine, newer' }]);
    // A's registers keep A's stamps; the ALTER stamped nothing of its own.
    expect(authors(r, 'n2')).toEqual([A, `name:${A}`]);
    expect(authors(r, 'n1')).toEqual([A, `name:${A}`]);
    expect(authors(r, 'n3')).toEqual([ME, `name:${ME}`]);
    expect(r.getVector()[ME]).toBe(mine);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.tables).toContain('notes');
    expect(seen[0]!.schemaChange).toEqual({ sql: 'ALTER TABLE notes DROP COLUMN x', schemaVersion: null });
    expect(seen[0]!.changes?.tables ?? []).toEqual([]);
    // The two unfit rows cannot fit (the key is what rows are matched by): still parked, not lost.
    expect(parkedKeys(r, 'notes')).toBe(2);
    expect(r.signedSince({}).map((b) => b.hlc - H).sort()).toEqual([10, 12, 13]);
    // A's cells of the dropped column are kept like any peer's: adding it back shows the newest.
    r.exec('ALTER TABLE notes ADD COLUMN x INTEGER');
    expect(rows(r)).toEqual([{ id: 'n1', name: 'theirs, newer', x: 'text x' }, { id: 'n2', name: 'theirs', x: 'x2' }, { id: 'n3', name: 'mine, newer', x: 3 }]);
  });

  it('a lone ADD COLUMN (exec or migration step) merges rows with a cell of the new column; capture stays refusing execLocal writes', async () => {
    for (const how of ['exec', 'migrate'] as const) {
      const r = await notes('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
      park(r, H + 10, 'notes', [[['n1'], { name: 'one', pinned: 1 }], [['n2'], { name: 'two' }]]);
      park(r, H + 11, 'lists', [[['l1'], { name: 'other table' }]]);
      const seen: Commit[] = [];
      r.onCommit((c) => seen.push(c));
      const add = 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0';
      if (how === 'exec') r.exec(add);
      else r.migrate([add]);
      expect(rows(r), how).toEqual([{ id: 'n1', name: 'one', pinned: 1 }, { id: 'n2', name: 'two', pinned: 0 }]);
      expect(authors(r, 'n1')).toEqual([A, `name:${A}`, `pinned:${A}`]);
      expect(seen.map((c) => [c.tables, c.schemaChange?.schemaVersion])).toEqual([[['notes'], how === 'exec' ? null : 1]]);
      expect(parkedKeys(r, 'notes')).toBe(0);
      expect(parkedKeys(r, 'lists')).toBe(1);
      expect(() => r.execLocal("INSERT INTO notes VALUES ('n9', 'local', 0)")).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
      // Updates are refused by the capture triggers, which read the stored mode.
      expect(() => r.execLocal("UPDATE notes SET name = 'local' WHERE id = 'n2'")).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
      r.exec("INSERT INTO notes VALUES ('n3', 'three', 3)");
      expect(authors(r, 'n3')).toEqual([ME, `name:${ME}`, `pinned:${ME}`]);
    }
  });

  it('a local write newer than a parked row, still in the update log, wins over it (ADD COLUMN leaves the log unfolded)', async () => {
    const r = await notes('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
    r.exec("INSERT INTO notes VALUES ('n1', 'mine, older'), ('n2', 'mine')");
    park(r, H + 10, 'notes', [[['n1'], { name: 'theirs, newer', y: 1 }], [['n2'], { name: 'theirs, older', y: 2 }]]);
    r.exec("UPDATE notes SET name = 'mine, newer' WHERE id = 'n2'");
    r.exec('ALTER TABLE notes ADD COLUMN y');
    expect(rows(r)).toEqual([{ id: 'n1', name: 'theirs, newer', y: 1 }, { id: 'n2', name: 'mine, newer', y: 2 }]);
    expect(authors(r, 'n2')).toEqual([ME, `name:${ME}`, `y:${A}`]);
  });

  it('a lone DROP COLUMN whose merge only inserts rows stays a schema change: nothing of the exec is stamped or sent', async () => {
    const r = await notes();
    park(r, H + 10, 'notes', [[['n1'], { name: 'one', x: 'text' }], [['n2'], { name: 'two' }]]);
    const mine = r.getVector()[ME];
    const seen: Commit[] = [];
    r.onCommit((c) => seen.push(c));
    r.exec('ALTER TABLE notes DROP COLUMN x');
    expect(rows(r)).toEqual([{ id: 'n1', name: 'one' }, { id: 'n2', name: 'two' }]);
    expect(r.getVector()[ME]).toBe(mine);
    expect(seen.map((c) => [c.tables, c.changes, c.schemaChange, c.needsSnapshot])).toEqual([[['notes'], null, { sql: 'ALTER TABLE notes DROP COLUMN x', schemaVersion: null }, false]]);
  });

  it('execLocal of the ALTER merges them too, and still refuses row writes to the synced table afterwards', async () => {
    const r = await notes();
    park(r, H + 10, 'notes', [[['n1'], { name: 'one', x: 'text' }]]);
    r.execLocal('ALTER TABLE notes DROP COLUMN x');
    expect(rows(r)).toEqual([{ id: 'n1', name: 'one' }]);
    expect(authors(r, 'n1')).toEqual([A, `name:${A}`]);
    expect(() => r.execLocal("UPDATE notes SET name = 'local' WHERE id = 'n1'")).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
  });

  it('a row breaking a CHECK of the table stays parked alone; the others merge', async () => {
    const r = await notes('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT CHECK (length(name) < 10))');
    park(r, H + 10, 'notes', [[['n1'], { name: 'short', y: 1 }], [['n2'], { name: 'far too long a name', y: 2 }], [['n3'], { name: 'fine', y: 3 }]]);
    r.exec('ALTER TABLE notes ADD COLUMN y');
    expect(rows(r)).toEqual([{ id: 'n1', name: 'short', y: 1 }, { id: 'n3', name: 'fine', y: 3 }]);
    expect(parkedKeys(r, 'notes')).toBe(1);
  });

  it('in an exec with row writes around the ALTER: the exec stamps its own rows only', async () => {
    const r = await notes();
    r.exec("INSERT INTO notes VALUES ('n3', 'mine', 3)");
    park(r, H + 10, 'notes', [[['n1'], { name: 'theirs', x: 'text' }], [['n2'], { name: 'theirs too' }]]);
    const seen: Commit[] = [];
    r.onCommit((c) => seen.push(c));
    r.exec("UPDATE notes SET name = 'updated' WHERE id = 'n3'; ALTER TABLE notes DROP COLUMN x; INSERT INTO notes VALUES ('n4', 'after'); UPDATE notes SET name = 'edited' WHERE id = 'n2'");
    expect(rows(r)).toEqual([{ id: 'n1', name: 'theirs' }, { id: 'n2', name: 'edited' }, { id: 'n3', name: 'updated' }, { id: 'n4', name: 'after' }]);
    expect(authors(r, 'n1')).toEqual([A, `name:${A}`]);
    expect(authors(r, 'n2')).toEqual([ME, `name:${ME}`]);
    expect(authors(r, 'n4')).toEqual([ME, `name:${ME}`]);
    expect(seen).toHaveLength(1);
    const changed = seen[0]!.changes!;
    expect(changed.nodes).toEqual([ME]);
    expect(changed.tables[0]!.rows.map((x) => x.pk[0]).sort()).toEqual(['n2', 'n3', 'n4']);
  });

  it('a replayed schema change (the durable log after a crash) merges the same rows', async () => {
    const r = await notes();
    r.exec("INSERT INTO notes VALUES ('n1', 'mine, older', 1)");
    park(r, H + 10, 'notes', [[['n1'], { name: 'theirs', x: 'text' }], [['n2'], { name: 'two' }], [['k', 2], { name: 'unfit' }]]);
    const before = r.export();
    r.exec('ALTER TABLE notes DROP COLUMN x');
    const replayed = await notes(undefined, before);
    replayed.replaySchemaChange({ sql: 'ALTER TABLE notes DROP COLUMN x', schemaVersion: null });
    expect(dump(replayed)).toEqual(dump(r));
    expect(registers(replayed)).toEqual(registers(r));
    expect(parkedKeys(replayed, 'notes')).toBe(1);
  });
});
