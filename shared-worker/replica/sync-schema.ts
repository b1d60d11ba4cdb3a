/**
 * Which tables can be synced, their shape (key and non-key columns) and the schema fingerprint
 * peers compare before merging a table.
 */
import { BatteryError } from '../protocol/errors.js';
import { normalizeType } from './contracts/schema-descriptor.js';
import { isInternalName } from './internal-schema.js';
import type { SqlDatabase } from './sql-database.js';

export interface ColumnShape {
  name: string;
  /** Declared type as written (affinity comes from it). */
  type: string;
  notNull: boolean;
  /** The DEFAULT clause's expression as SQLite stores it (pragma table_info.dflt_value), null if none. */
  dflt?: string | null;
  /**
   * Added by ALTER TABLE ... ADD COLUMN after sync was enabled. Kept in stored shapes; what a row no
   * peer wrote the column for reads no longer depends on it (column-default.ts).
   */
  added?: boolean;
}

export interface TableShape {
  /** The table's name as stored in sqlite_schema. */
  name: string;
  /** Key columns in PRIMARY KEY order. */
  pk: ColumnShape[];
  /** Non-key columns in table order: the cells. */
  cols: ColumnShape[];
  fingerprint: string;
  /** The key is an INTEGER PRIMARY KEY, i.e. the rowid itself. */
  rowidAlias?: boolean;
  /**
   * Columns dropped by ALTER TABLE ... DROP COLUMN and not added back, with the type they had:
   * their cells are kept (schema-evolution.ts), so a re-ADD of the name must have that type.
   */
  dropped?: ColumnShape[];
}

function refuse(table: string, why: string, what: string): never {
  throw new BatteryError('SCHEMA', `Cannot sync table "${table}": ${why}. ${what}`, { table });
}

/** The canonical name of a main-schema table, or null when there is none. */
export function resolveTableName(db: SqlDatabase, name: string): string | null {
  const row = db.get("SELECT name FROM pragma_table_list WHERE schema = 'main' AND name = ? COLLATE NOCASE", [name]);
  return row ? String(row[0]) : null;
}

/**
 * Validates that `name` can merge safely and returns its shape; throws SCHEMA saying why not.
 * `referrers: false` leaves out the check that no other table references it with a foreign key,
 * for callers that know only this table changed (ALTER of it cannot add one elsewhere).
 */
export function inspectSyncableTable(db: SqlDatabase, name: string, options: { referrers?: boolean } = {}): TableShape {
  const listed = db.get("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' AND name = ? COLLATE NOCASE", [name]);
  if (!listed) refuse(name, 'no such table in the main database', 'Create it first (CREATE TABLE ...), then call enableSync.');
  const table = String(listed[0]);
  if (isInternalName(table)) refuse(table, 'it is an internal table (sqlite_* or _rb_*)', 'Sync your own tables only.');
  if (listed[1] !== 'table') refuse(table, `it is a ${String(listed[1])} table, not an ordinary one`, 'Sync an ordinary table.');
  if (listed[2] === 1) {
    refuse(table, 'it is a WITHOUT ROWID table; change capture keys its clock rows by rowid', 'Declare it without WITHOUT ROWID.');
  }

  const info = db.all('SELECT cid, name, type, "notnull", pk, hidden, dflt_value FROM pragma_table_xinfo(?) ORDER BY cid', [table]);
  const indexes = db.all('SELECT name, "unique", origin FROM pragma_index_list(?)', [table]);
  const pkIndex = indexes.find((r) => r[2] === 'pk');
  // Change sets, extra cells and parked cells match column names ignoring the case of every
  // letter; SQLite ignores only ASCII case, so it allows "Ä" next to "ä", whose cells would mix.
  const folded = new Map<string, string>();
  for (const [, colName, , , , hidden] of info) {
    const twin = folded.get(String(colName).toLowerCase());
    if (twin !== undefined) {
      refuse(table, `columns "${twin}" and "${String(colName)}" differ only in the case of letters outside ASCII (SQLite tells them apart, peers' change sets do not)`, 'Rename one of them.');
    }
    folded.set(String(colName).toLowerCase(), String(colName));
    if (hidden !== 0) refuse(table, `column "${String(colName)}" is generated`, 'Generated columns cannot be merged; compute them in queries or views.');
    if (['rowid', 'oid', '_rowid_'].includes(String(colName).toLowerCase())) {
      refuse(table, `column "${String(colName)}" shadows the rowid`, 'Rename the column.');
    }
  }
  const keyed = info.filter((r) => Number(r[4]) > 0).sort((a, b) => Number(a[4]) - Number(b[4]));
  if (keyed.length === 0) {
    refuse(table, 'it has no PRIMARY KEY', 'Rows are matched across peers by key: declare e.g. "id TEXT PRIMARY KEY NOT NULL" with random ids.');
  }
  const rowidAlias = keyed.length === 1 && String(keyed[0]![2]).toUpperCase() === 'INTEGER' && !pkIndex;
  if (!rowidAlias) {
    for (const r of keyed) {
      if (r[3] !== 1) {
        refuse(table, `primary key column "${String(r[1])}" may be NULL (SQLite allows NULL in non-INTEGER keys)`, 'Declare every key column NOT NULL.');
      }
    }
  }
  for (const [indexName, unique, origin] of indexes) {
    if (unique === 1 && origin !== 'pk') {
      refuse(
        table,
        `it has a unique ${origin === 'u' ? 'constraint' : 'index'} besides the primary key (${String(indexName)})`,
        'Two peers can each insert a different row with the same unique value and the merge could not keep both; drop the uniqueness or make it the key.',
      );
    }
  }
  if (pkIndex) {
    for (const [col, coll] of db.all('SELECT name, coll FROM pragma_index_xinfo(?) WHERE key = 1', [String(pkIndex[0])])) {
      if (String(coll).toUpperCase() !== 'BINARY') {
        refuse(table, `key column "${String(col)}" uses collation ${String(coll)}`, 'Keys must compare byte for byte on every peer: remove the COLLATE clause.');
      }
    }
  }
  const fks = db.all('SELECT "table", "from" FROM pragma_foreign_key_list(?)', [table]);
  if (fks.length > 0) {
    const list = fks.map((f) => `${String(f[1])} -> ${String(f[0])}`).join(', ');
    refuse(table, `it declares foreign keys (${list})`, 'Merges apply rows in any order, which a foreign key can reject or cascade; drop the REFERENCES clauses.');
  }
  for (const [other] of options.referrers === false ? [] : db.all("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'")) {
    const refs = db.all('SELECT "from" FROM pragma_foreign_key_list(?) WHERE "table" = ? COLLATE NOCASE', [String(other), table]);
    if (refs.length > 0) {
      refuse(table, `table "${String(other)}" references it with a foreign key`, 'A merged delete could be rejected or cascade; drop that REFERENCES clause.');
    }
  }

  const toShape = (r: unknown[]): ColumnShape => ({ name: String(r[1]), type: String(r[2]), notNull: r[3] === 1 || Number(r[4]) > 0, dflt: r[6] === null ? null : String(r[6]) });
  const pk = keyed.map(toShape);
  const cols = info.filter((r) => Number(r[4]) === 0).map(toShape);
  return { name: table, pk, cols, rowidAlias, fingerprint: infoFingerprint(info) };
}

/** The shape fingerprint of a table's `pragma_table_xinfo` rows (cid, name, type, notnull, pk, ...). */
export function infoFingerprint(info: unknown[][]): string {
  return fingerprintOf(info.map((r) => [String(r[1]), normalizeType(String(r[2])), r[3] === 1 || Number(r[4]) > 0, Number(r[4])]));
}

/** 16 hex chars: two independent 32-bit FNV-1a hashes of the canonical JSON of the shape. */
function fingerprintOf(shape: unknown): string {
  const text = JSON.stringify(shape);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
    h2 ^= h2 >>> 15;
  }
  return h1.toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
