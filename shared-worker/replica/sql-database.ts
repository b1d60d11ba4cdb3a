/**
 * sql.js loading and one connection with a prepared-statement cache.
 *
 * Quirk: older sql.js versions' `Database.export()` closed the SQLite connection and opened a new
 * one on the same file: every prepared statement freed, registered functions and the update hook
 * gone, connection pragmas (recursive_triggers!) back to their defaults. sql.js 1.16 copies through
 * the backup API and keeps the connection (and its TEMP objects). `exportBytes()` still drops our
 * statement cache and calls `configure` again, so callers see no difference either way.
 *
 * Every connection runs with `locking_mode = EXCLUSIVE` and `journal_mode = MEMORY`. The file
 * lives in Emscripten's in-memory FS and this connection is its only user, so shared locks buy
 * nothing, yet by default every transaction re-reads the header and creates, writes and deletes
 * a journal file through JS FS calls, which doubled the cost of a small exec and made a raw
 * prepared SELECT five times slower. A crash
 * mid-transaction cannot leave a torn file behind either: the file dies with the worker, and
 * durability comes from IndexedDB (snapshot + log), never from this file.
 */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import type { SqlValue } from './contracts/change-set.js';
import { UpdateHook, type UpdateListener } from './update-hook.js';
import { openExportCursor } from './export-cursor.js';
import { execApiOf, handleOf, type ExecApi } from './sqljs-c-api.js';
import type { ExportCursor } from './contracts/replica-types.js';

/** How to find the wasm in the browser (Node resolves it next to the sql.js package by itself). */
export interface SqlJsLoader {
  locateFile?: (file: string) => string;
  wasmBinary?: ArrayBuffer | Uint8Array;
}

let sqlModule: Promise<SqlJsStatic> | null = null;

/**
 * The sql.js module, loaded once per process/worker (the first caller's loader options win).
 * An already initialized module (what initSqlJs resolved to) is used as it is.
 */
export function loadSqlJs(loader?: SqlJsLoader | SqlJsStatic): Promise<SqlJsStatic> {
  if (loader && 'Database' in loader) return Promise.resolve(loader);
  if (!sqlModule) {
    const config: Record<string, unknown> = {};
    if (loader?.locateFile) config.locateFile = loader.locateFile;
    if (loader?.wasmBinary) config.wasmBinary = loader.wasmBinary;
    sqlModule = initSqlJs(config).catch((e: unknown) => {
      sqlModule = null;
      throw e;
    });
  }
  return sqlModule;
}

/** How many user statements stay prepared (user SQL text is unbounded, the cache must not be). */
const USER_CACHE_LIMIT = 64;

/**
 * A user statement kept prepared; `markers`: its text has parameter markers (see exec-runner);
 * `kind`: a lone SELECT (runs outside any transaction) or a lone row write (inside exec's).
 */
export interface UserStatement {
  stmt: Statement;
  markers: boolean;
  kind: 'select' | 'write';
}

export type Row = SqlValue[];
export type BindValues = SqlValue[] | Record<string, SqlValue>;

const ENCODER = new TextEncoder();
/** encodeWithNul's kept buffer, grown as needed up to KEPT_BYTES. */
let scratch = new Uint8Array(4096);
/** Past this, a text gets a buffer of its own: one huge statement must not pin 3x its size for good. */
const KEPT_BYTES = 256 * 1024;

/** `text` as UTF-8 with a NUL after it, in a view of a buffer valid until the next call. */
function encodeWithNul(text: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 unit (4 per surrogate pair).
  const need = text.length * 3 + 1;
  if (need > scratch.length && need <= KEPT_BYTES) scratch = new Uint8Array(need);
  const buffer = need <= scratch.length ? scratch : new Uint8Array(need);
  const { written } = ENCODER.encodeInto(text, buffer);
  buffer[written] = 0;
  return buffer.subarray(0, written + 1);
}

export class SqlDatabase {
  readonly raw: Database;
  private readonly cApi: ExecApi | null;
  private readonly cache = new Map<string, Statement>();
  /** By SQL text, least recently used first; null: that text is not worth keeping prepared. */
  private readonly userCache = new Map<string, UserStatement | null>();

  private hook: UpdateHook | null = null;
  private hookOn = false;
  /**
   * The TEMP capture triggers ever created on this connection (lazy-capture.ts adds to it): a
   * superset of those there now (a rollback takes CREATEs back, dropping a table drops its
   * triggers). Never emptied: sql.js 1.16's export() keeps the connection (it copies through the
   * backup API), and were it to open a new one, the names would only make lazy-capture.ts ask
   * SQLite for nothing.
   */
  readonly tempTriggerNames = new Set<string>();

  get tempTriggersMayExist(): boolean {
    return this.tempTriggerNames.size > 0;
  }

  constructor(
    private readonly sql: SqlJsStatic,
    data: Uint8Array | undefined,
    private readonly configure: (db: SqlDatabase) => void,
  ) {
    this.raw = data ? new sql.Database(data) : new sql.Database();
    this.cApi = execApiOf(sql);
    this.setUp();
  }

  private setUp(): void {
    this.raw.run('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY');
    if (this.hook && this.hookOn) this.hook.install(this.raw);
    this.configure(this);
  }

  /** Calls `listener` for every row written from now on (update-hook.ts), also after export(). */
  listenToWrites(listener: UpdateListener): void {
    if (this.hook) throw new Error('listenToWrites: already listening');
    this.hook = new UpdateHook(this.sql, listener);
    this.resumeWriteListener();
  }

  /** Stops the write listener (a JS call per row) for work that needs no events. */
  pauseWriteListener(): void {
    if (!this.hook || !this.hookOn) return;
    this.hook.uninstall(this.raw);
    this.hookOn = false;
  }

  resumeWriteListener(): void {
    if (!this.hook || this.hookOn) return;
    this.hook.install(this.raw);
    this.hookOn = true;
  }

  /** After a statement that may have changed the schema: see update-hook.ts. */
  forgetTableNames(): void {
    this.hook?.forgetNames();
  }

  /** Set by deferBegin: the transaction's BEGIN runs before the next statement. */
  private beginPending = false;

  /**
   * Opens a transaction lazily: BEGIN runs first thing in the next call that runs SQL through
   * this object, or as the first statement of `execRawInTransaction`'s text (one call into
   * sql.js fewer, for an exec that is a single such call).
   */
  deferBegin(): void {
    this.beginPending = true;
  }

  /** Was the deferred BEGIN not run yet (nothing ran since deferBegin)? */
  get beginDeferred(): boolean {
    return this.beginPending;
  }

  /** Forgets a deferred BEGIN that never ran (the caller's transaction ends without SQL). */
  cancelBegin(): void {
    this.beginPending = false;
  }

  private begin(): void {
    this.beginPending = false;
    this.raw.run('BEGIN');
  }

  /**
   * execRaw inside the transaction: with a deferred BEGIN first in the same call. A failure
   * leaves the transaction open (BEGIN, run first with none open, does not fail).
   */
  execRawInTransaction(sql: string): void {
    const opening = this.beginPending;
    this.beginPending = false;
    this.execRaw(opening ? `BEGIN;\n${sql}` : sql);
  }

  /** A cached prepared statement (reset, bindings cleared by the caller's next bind). */
  prepare(sql: string): Statement {
    if (this.beginPending) this.begin();
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  run(sql: string, params?: BindValues): void {
    const stmt = this.prepare(sql);
    try {
      if (params) stmt.bind(params as never);
      stmt.step();
    } finally {
      stmt.reset();
    }
  }

  get(sql: string, params?: BindValues): Row | undefined {
    const stmt = this.prepare(sql);
    try {
      if (params) stmt.bind(params as never);
      return stmt.step() ? (stmt.get() as Row) : undefined;
    } finally {
      stmt.reset();
    }
  }

  all(sql: string, params?: BindValues): Row[] {
    const stmt = this.prepare(sql);
    const rows: Row[] = [];
    try {
      if (params) stmt.bind(params as never);
      while (stmt.step()) rows.push(stmt.get() as Row);
    } finally {
      stmt.reset();
    }
    return rows;
  }

  /**
   * The cached entry for user SQL `sql`, made by `make` on a miss (a throw caches nothing).
   * Bounded: past USER_CACHE_LIMIT the least recently used entry is freed.
   */
  userStatement(sql: string, make: () => UserStatement | null): UserStatement | null {
    let entry = this.userCache.get(sql);
    if (entry !== undefined) {
      this.userCache.delete(sql);
    } else {
      entry = make();
      if (this.userCache.size >= USER_CACHE_LIMIT) {
        const [oldest, old] = this.userCache.entries().next().value!;
        old?.stmt.free();
        this.userCache.delete(oldest);
      }
    }
    this.userCache.set(sql, entry);
    return entry;
  }

  /** The cached entry for user SQL `sql` if there is one (null: cached as not worth keeping), else undefined. */
  peekUserStatement(sql: string): UserStatement | null | undefined {
    return this.userCache.get(sql);
  }

  /**
   * Runs `body` on a new, empty in-memory database of the same sql.js module, closed afterwards:
   * SQL whose answer needs DDL (column-default.ts) without touching this connection's schema.
   */
  scratch<T>(body: (db: Database) => T): T {
    const db = new this.sql.Database();
    try {
      return body(db);
    } finally {
      db.close();
    }
  }

  /** One-off SQL (DDL, BEGIN/COMMIT); not cached. */
  execRaw(sql: string): void {
    if (this.beginPending) this.begin();
    const c = this.cApi;
    if (!c) this.raw.run(sql);
    else {
      // sql.js run(sql) does the same, its text encoded by a JS loop over the characters (~12 ns
      // each warm; the capture texts an ADD COLUMN writes are ~9 kB): TextEncoder is native, and
      // encodeInto a kept buffer saves encode()'s new buffer each call (~15 us CPU for 3 kB).
      const bytes = encodeWithNul(sql);
      const at = c._malloc(bytes.length);
      try {
        c.writeArrayToMemory(bytes, at);
        const handle = handleOf(this.raw);
        if (c._sqlite3_exec(handle, at, 0, 0, 0) !== 0) throw new Error(c.UTF8ToString(c._sqlite3_errmsg(handle)));
      } finally {
        c._free(at);
      }
    }
    this.forgetTableNames();
  }

  /** Frees cached statements (needed before DDL that drops what they reference, and on close). */
  clearCache(): void {
    for (const stmt of this.cache.values()) stmt.free();
    this.cache.clear();
    this.clearUserStatements();
  }

  /**
   * Frees the cached user statements only. After a schema change that only ADDs columns, our own
   * cached statements stay valid: SQLite prepares a statement again by itself when the schema
   * changed under it (sqlite3_prepare_v2), and none of ours reads `*`. A user statement may, and
   * its column names are read before its first step, which is when SQLite would prepare it again.
   */
  clearUserStatements(): void {
    for (const entry of this.userCache.values()) entry?.stmt.free();
    this.userCache.clear();
  }

  exportBytes(): Uint8Array {
    this.clearCache();
    const bytes = this.raw.export();
    this.setUp();
    return bytes;
  }

  /** exportBytes a few pages at a time (export-cursor.ts). */
  exportCursor(): ExportCursor {
    return openExportCursor(this.sql, this.raw, () => this.exportBytes());
  }

  close(): void {
    this.clearCache();
    this.pauseWriteListener();
    this.hook?.dispose();
    this.raw.close();
  }
}
