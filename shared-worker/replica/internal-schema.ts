/**
 * The library's own tables (prefix `_rb_`), saved in the database file so everything survives
 * export()/reopen:
 *   _rb_meta     key/value: node id, version counter, format, schema_version (migrations applied)
 *   _rb_ctx      one row read by the capture triggers: mode (see CaptureMode) and the stamp id of
 *                the running exec. A real table, not TEMP: triggers saved in the file may only
 *                read tables of their own schema, and a JS function would vanish on export().
 *   _rb_nodes    node id <-> small integer, plus the highest hlc held per node (the version vector)
 *   _rb_stamps   stamp id v <-> (hlc, node). Registers store v (1-3 bytes) instead of the full
 *                stamp (8 + node), and v grows with every new stamp, so "changed since" is a range.
 *   _rb_tables   synced tables: name, tid (suffix of their per-table tables), shape as JSON
 *   _rb_signed   stamp id v -> the signed bodies another replica sent the registers of that stamp
 *                in (several when the stamp was too big for one message), kept verbatim for
 *                forwarding while a register carries the stamp (signed-bodies.ts)
 *   _rb_authors  node index n of every node known to sign (a kept body's, our key-bound id's):
 *                unsigned changes under them are refused (known-authors.ts)
 *   _rb_parked   registers of others' signed sets in tables not synced here, or rows that do not
 *                fit the table here (parked-registers.ts)
 */
import { BatteryError } from '../protocol/errors.js';
import type { SqlDatabase } from './sql-database.js';
import { quoteString } from './sql-text.js';

const INTERNAL_PREFIX = '_rb_';
/**
 * 2: inserts are captured through the update hook, not a trigger; 3: per synced table an
 * extra-cells table; 4: deletes and key changes are captured by TEMP triggers the connection
 * installs when it first needs them (capture-migration.ts, lazy-capture.ts).
 */
export const FORMAT_VERSION = 4;

/** What the capture triggers do; stored in _rb_ctx.mode. */
export const CaptureMode = {
  /** The replica itself writes (merge, enableSync): triggers stay quiet. */
  Off: 0,
  /**
   * exec(): stamp every change of synced tables with _rb_ctx.v. The connection lacks the TEMP
   * triggers that capture deletes and key changes (lazy-capture.ts): such a write aborts its
   * statement, which runs again once they are installed (and the mode is CaptureFull).
   */
  Capture: 1,
  /** execLocal() and at rest: a write to a synced table aborts the statement. */
  Forbid: 2,
  /** Capture, with the TEMP triggers of every synced table installed on the connection. */
  CaptureFull: 3,
} as const;
export type CaptureMode = (typeof CaptureMode)[keyof typeof CaptureMode];

/** Prefix of the RAISE messages of our triggers, so errors from them map to BAD_OP. */
export const TRIGGER_ERROR_PREFIX = 'rtc-battery:';

/**
 * The RAISE message of a persistent capture trigger asking for the TEMP ones (lazy-capture.ts):
 * the statement it aborted runs again once they are installed, so no caller ever sees it.
 */
export const LAZY_CAPTURE_REQUEST = `${TRIGGER_ERROR_PREFIX} internal: the capture of deletes and key changes is not installed`;

/**
 * A SQL function that fails the statement calling it, its argument the message: it stops a call
 * of several statements at a check (schema-evolution.ts), as core SQL has no RAISE outside
 * triggers. Registered on every connection (registerConnectionFunctions); no trigger or stored
 * object names it, so the file needs nothing registered. User SQL cannot call it (an _rb_ name).
 */
export const REFUSE_FUNCTION = '_rb_refuse';

/** What every connection of the replica has registered (again after each export(), which reopens). */
export function registerConnectionFunctions(db: SqlDatabase): void {
  db.raw.create_function(REFUSE_FUNCTION, (why: unknown) => {
    throw new Error(`${TRIGGER_ERROR_PREFIX} ${String(why)}`);
  });
}

export function isInternalName(name: string): boolean {
  return name.toLowerCase().startsWith(INTERNAL_PREFIX) || name.toLowerCase().startsWith('sqlite_');
}

function createInternalTables(db: SqlDatabase): void {
  const hadAuthors = db.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_rb_authors'") !== undefined;
  db.execRaw(`
    CREATE TABLE IF NOT EXISTS _rb_meta(k TEXT PRIMARY KEY NOT NULL, v);
    CREATE TABLE IF NOT EXISTS _rb_ctx(k INTEGER PRIMARY KEY CHECK (k = 1), mode INTEGER NOT NULL, v INTEGER NOT NULL);
    INSERT OR IGNORE INTO _rb_ctx VALUES (1, ${CaptureMode.Forbid}, 0);
    CREATE TABLE IF NOT EXISTS _rb_nodes(n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, maxhlc INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS _rb_stamps(v INTEGER PRIMARY KEY, hlc INTEGER NOT NULL, n INTEGER NOT NULL);
    CREATE UNIQUE INDEX IF NOT EXISTS _rb_stamps_nh ON _rb_stamps(n, hlc);
    CREATE TABLE IF NOT EXISTS _rb_tables(name TEXT PRIMARY KEY NOT NULL, tid INTEGER NOT NULL UNIQUE, shape TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS _rb_signed(v INTEGER NOT NULL, body BLOB NOT NULL);
    CREATE INDEX IF NOT EXISTS _rb_signed_v ON _rb_signed(v);
    CREATE TABLE IF NOT EXISTS _rb_authors(n INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS _rb_parked(tbl TEXT NOT NULL, pk BLOB NOT NULL, kind INTEGER NOT NULL, col TEXT NOT NULL, val BLOB NOT NULL, v INTEGER NOT NULL, PRIMARY KEY (tbl, pk, kind, col)) WITHOUT ROWID;
    INSERT OR IGNORE INTO _rb_meta VALUES ('format', ${FORMAT_VERSION});
    INSERT OR IGNORE INTO _rb_meta VALUES ('version', 0);
  `);
  // A file whose _rb_signed held one body per stamp (v its primary key): the same rows, re-keyed.
  if (db.all("SELECT 1 FROM pragma_table_info('_rb_signed') WHERE name = 'v' AND pk = 1").length > 0) {
    db.execRaw(`
      DROP INDEX IF EXISTS _rb_signed_v;
      ALTER TABLE _rb_signed RENAME TO _rb_signed_old;
      CREATE TABLE _rb_signed(v INTEGER NOT NULL, body BLOB NOT NULL);
      INSERT INTO _rb_signed(v, body) SELECT v, body FROM _rb_signed_old ORDER BY v;
      DROP TABLE _rb_signed_old;
      CREATE INDEX _rb_signed_v ON _rb_signed(v);
    `);
  }
  // A file from before _rb_authors: the signers of the bodies it kept are its known authors.
  if (!hadAuthors) db.execRaw('INSERT OR IGNORE INTO _rb_authors(n) SELECT DISTINCT s.n FROM _rb_signed g JOIN _rb_stamps s ON s.v = g.v');
}

export function readMeta(db: SqlDatabase, key: string): unknown {
  return db.get('SELECT v FROM _rb_meta WHERE k = ?', [key])?.[0] ?? undefined;
}

export function writeMeta(db: SqlDatabase, key: string, value: string | number): void {
  db.run('INSERT OR REPLACE INTO _rb_meta(k, v) VALUES (?, ?)', [key, value]);
}

/**
 * writeMeta of integer values as SQL text, for a call that runs other statements with it (each
 * call through sql.js costs more than a short statement in it).
 */
export function metaRowsSql(rows: ReadonlyArray<readonly [string, number]>): string {
  for (const [, v] of rows) if (!Number.isSafeInteger(v)) throw new Error(`internal: meta value ${v} is not an integer`);
  return `INSERT OR REPLACE INTO _rb_meta(k, v) VALUES ${rows.map(([k, v]) => `(${quoteString(k)}, ${v})`).join(', ')};`;
}

export function setCaptureMode(db: SqlDatabase, mode: CaptureMode, stampId = 0): void {
  db.run('UPDATE _rb_ctx SET mode = ?, v = ?', [mode, stampId]);
}

/**
 * Runs `body` with the capture triggers off, then puts the stored mode and stamp id back: for
 * writes that are the replica's own in the middle of an exec (registers that carry their stamps).
 */
export function withCaptureOff<T>(db: SqlDatabase, body: () => T): T {
  const [mode, stampId] = db.get('SELECT mode, v FROM _rb_ctx')! as [CaptureMode, number];
  setCaptureMode(db, CaptureMode.Off);
  try {
    return body();
  } finally {
    setCaptureMode(db, mode, stampId);
  }
}

/**
 * Creates our tables if missing (a fresh file, or one made by plain SQLite), refuses files from a
 * newer format and returns the node id: `bind` when given (stored, replacing an older id), else
 * the stored one, else `newNodeId()` stored for good.
 */
export function openInternalState(db: SqlDatabase, newNodeId: () => string, bind?: string): string {
  db.execRaw('BEGIN');
  try {
    createInternalTables(db);
    const format = Number(readMeta(db, 'format'));
    if (format > FORMAT_VERSION) throw new BatteryError('VERSION', `database format ${format} is newer than this library understands (${FORMAT_VERSION})`);
    let nodeId = readMeta(db, 'node_id');
    if (typeof nodeId !== 'string' || (bind !== undefined && nodeId !== bind)) {
      nodeId = bind ?? newNodeId();
      writeMeta(db, 'node_id', nodeId as string);
    }
    db.execRaw('COMMIT');
    return nodeId as string;
  } catch (e) {
    db.execRaw('ROLLBACK');
    throw e;
  }
}
