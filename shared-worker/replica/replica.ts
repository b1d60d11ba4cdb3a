/**
 * createReplica: the in-memory replica (sql.js + capture triggers + HLC + merge). Every method is
 * synchronous, runs in one SQLite transaction and throws BatteryError. See capture.ts for how
 * changes are recorded, merge.ts for how batches are merged, delta.ts for deltas.
 */
import type { SqlJsStatic } from 'sql.js';
import { backfill, installCapture } from './capture.js';
import { foldCapturedChanges, foldPendingUpdates, tablesWithPendingUpdates, updateLogMarks, updateLogStart } from './capture-fold.js';
import { migrateCaptureFormat } from './capture-migration.js';
import { InsertCapture } from './insert-capture.js';
import { mergeChangeSets, type ChangeSet } from './contracts/change-set.js';
import { changesAt, changesSince } from './delta.js';
import { BatteryError } from '../protocol/errors.js';
import { ranAsLoneWrite, runForEachRow, runLoneSelect, runUserSql, type LazyCaptureRetry } from './exec-runner.js';
import { installLazyCapture, startCapture } from './lazy-capture.js';
import { checkParams } from '../protocol/values.js';
import { MAX_VECTOR_ENTRIES } from '../protocol/limits.js';
import { DEFAULT_MAX_CLOCK_DRIFT_MS, HybridLogicalClock, isValidHlc } from './hlc.js';
import { CaptureMode, metaRowsSql, openInternalState, readMeta, registerConnectionFunctions, setCaptureMode, withCaptureOff, writeMeta } from './internal-schema.js';
import { assertNoTempShadow, countUserTables, hasUserTriggers, recheckSyncedTables } from './schema-guard.js';
import { toBatteryError } from './sqlite-error-codes.js';
import { assertMergeSafeTriggers, suspendUserTriggers } from './user-triggers.js';
import { assertExactIntegers, assertTableHasExactIntegers, unsafeRowidError } from './exact-integers.js';
import { mergeBatch } from './merge.js';
import { assertNodeId, randomNodeId } from '../protocol/ids.js';
import { validateChangeSet } from './remote-validation.js';
import type { MigrationResult } from '../protocol/migrations.js';
import type { ApplyOptions, ApplyResult, Commit, ExecResult, ExportCursor, Replica, ReplicaOptions, RowWrite, SchemaChange, SqlParams } from './contracts/replica-types.js';
import { replayRowImages, WriteRecorder } from './row-images.js';
import { loadSqlJs, SqlDatabase, type SqlJsLoader } from './sql-database.js';
import { checkUserStatement } from './sql-policy.js';
import { firstKeyword, stripLiteralsAndComments } from './sql-text.js';
import { sqliteLower } from './contracts/sqlite-names.js';
import { describeSchema } from './contracts/schema-descriptor.js';
import { canonicalAddedColumn, predictAddedColumn } from './added-column.js';
import { addAfterAlter, addBeforeAlter, afterAlter, beforeAlter, checkAlter, parseAlterTable, type PredictedAdd } from './schema-evolution.js';
import { unsafeDefaultColumn, unsafeDefaultMessage } from './column-default.js';
import { StampStore } from './stamps.js';
import { SignedBodies } from './signed-bodies.js';
import { KnownAuthors } from './known-authors.js';
import { ParkedRegisters } from './parked-registers.js';
import { assertBatchCaps, splitByFit, validateParked } from './parked-validation.js';
import type { SignedBody } from './contracts/change-set.js';
import { inspectSyncableTable, type TableShape } from './sync-schema.js';
import { makeSyncedTable, type SyncedTable } from './synced-table.js';
import { assertChangesWithinCap, assertStampWithinCap } from './exec-value-cap.js';
import { entryOf, validateVector, type VersionVector } from './contracts/version-vector.js';

/** Past this many row writes in one exec, its change set reads live rows with a join (delta.ts). */
const MANY_ROWS = 32;

export interface CreateReplicaOptions extends ReplicaOptions {
  /** A database file from export() to reopen. */
  data?: Uint8Array;
  /** Where sql.js finds its wasm (browser; ignored once loaded), or an initialized sql.js module. */
  sqlJs?: SqlJsLoader | SqlJsStatic;
}

/**
 * What the statements of one exec were, as far as the durable log cares: when every one is an
 * ADD/DROP COLUMN of a synced table, the commit is a SchemaChange (logged and replayed as itself).
 */
interface StatementScan {
  statements: number;
  alters: number;
  /** Canonical names of the tables altered. */
  altered: Set<string>;
}

/** Text that starts with ALTER (no comment before it): all exec looks at before parsing one. */
// Regular expressions are module constants (see sql-text.ts).
const ALTER_LEAD = /^\s*alter\s/i;
/**
 * Text that gets the TEMP capture triggers before its statements run (installBeforeStatements):
 * SQL functions reading the connection's counters, and the words of a delete (DELETE; REPLACE as
 * a conflict resolution: OR REPLACE, REPLACE INTO, ON CONFLICT REPLACE, never the replace()
 * function, which a "(" follows). In a literal or a comment too, harmlessly: an install a
 * connection would not have needed yet.
 */
const INSTALL_FIRST = /\b(?:total_changes|changes|last_insert_rowid)\s*\(|\bdelete\b|\breplace\b(?!\s*\()/i;
const TRAILING_SEMICOLONS = /[\s;]+$/;
const REPLACE_WORD = /\bREPLACE\b/i;
/** Text that may create a TEMP object: TEMP/TEMPORARY or the schema name temp, in any quoting, holds these letters. */
const TEMP_WORD = /temp/i;
const CONSTRAINT_FAILED = /constraint failed/i;

const newScan = (): StatementScan => ({ statements: 0, alters: 0, altered: new Set() });

export async function createReplica(options: CreateReplicaOptions = {}): Promise<Replica> {
  const sql = await loadSqlJs(options.sqlJs);
  return new SqlReplica(sql, options);
}

class SqlReplica implements Replica {
  readonly nodeId: string;
  private readonly db: SqlDatabase;
  private readonly clock: HybridLogicalClock;
  private readonly stamps: StampStore;
  private readonly signed: SignedBodies;
  private readonly authors: KnownAuthors;
  private readonly parked: ParkedRegisters;
  private readonly recorder: WriteRecorder;
  private readonly inserts = new InsertCapture();
  private readonly listeners = new Set<(commit: Commit) => void>();
  private tables = new Map<string, SyncedTable>();
  /** Canonical names of synced tables (what the update hook reports), for a fast exact lookup. */
  private syncedNames = new Set<string>();
  private version = 0;
  private closed = false;

  constructor(sql: SqlJsStatic, options: CreateReplicaOptions) {
    if (options.clockFloor !== undefined && !isValidHlc(options.clockFloor)) throw new BatteryError('SQL', 'clockFloor must be a non-negative safe integer');
    this.recorder = new WriteRecorder(
      (t) => this.syncedNames.has(t) || this.tables.has(t.toLowerCase()),
      (op, t, rowid) => this.inserts.note(op, this.syncedNames.has(t) ? t : this.tables.get(t.toLowerCase())!.shape.name, rowid),
    );
    this.db = new SqlDatabase(sql, options.data, (db) => {
      // Connection state, set again after every export() (which reopens the connection).
      db.execRaw('PRAGMA recursive_triggers = ON; PRAGMA temp_store = MEMORY');
      registerConnectionFunctions(db);
    });
    this.db.listenToWrites(this.recorder.onHook);
    this.stamps = new StampStore(this.db);
    this.signed = new SignedBodies(this.db, this.stamps);
    this.authors = new KnownAuthors(this.db, this.stamps);
    this.parked = new ParkedRegisters(this.db, this.stamps);
    this.clock = new HybridLogicalClock(options.now ?? Date.now, options.maxClockDriftMs ?? DEFAULT_MAX_CLOCK_DRIFT_MS);
    try {
      this.nodeId = openInternalState(this.db, () => assertNodeId(options.nodeId ?? randomNodeId()), options.bindNodeId === undefined ? undefined : assertNodeId(options.bindNodeId));
      migrateCaptureFormat(this.db);
      this.stamps.nodeIndex(this.nodeId);
      if (options.bindNodeId !== undefined) this.authors.addOwn(this.nodeId);
    } catch (e) {
      this.db.close();
      throw toBatteryError(e);
    }
    this.loadState();
    if (options.clockFloor !== undefined) this.clock.advancePast(options.clockFloor);
  }

  private loadState(): void {
    this.tables = new Map();
    for (const [name, tid, shape] of this.db.all('SELECT name, tid, shape FROM _rb_tables ORDER BY tid')) {
      this.tables.set(String(name).toLowerCase(), makeSyncedTable(JSON.parse(String(shape)) as TableShape, Number(tid)));
    }
    this.syncedNames = new Set([...this.tables.values()].map((t) => t.shape.name));
    this.version = Number(readMeta(this.db, 'version') ?? 0);
    this.stamps.forget();
    this.signed?.forget();
    this.authors?.forget();
    this.clock.advancePast(this.stamps.maxHlc());
  }

  private assertOpen(): void {
    if (this.closed) throw new BatteryError('CLOSED', 'the replica is closed');
  }

  /**
   * Runs `body` in one transaction; on any error everything (db and caches) is rolled back.
   * `mode` null (a lone ADD COLUMN, see loneAddColumn): the stored capture mode stays Forbid, as
   * every transaction leaves it, and is not written; the hook's events are the replica's own
   * writes (kept cells becoming registers), so they are not read either.
   */
  private transaction<T>(mode: CaptureMode | null, stampId: number, body: () => T, sqlCode: 'SQL' | 'BAD_OP' | 'SCHEMA' = 'SQL'): T {
    // BEGIN and COMMIT on cached statements: execRaw prepares them anew on every call. A lone ADD
    // COLUMN's BEGIN is deferred to its first statement, usually the call that rewrites the
    // capture rows and runs the ALTER (addBeforeAlter): one call into sql.js fewer.
    if (mode === null) this.db.deferBegin();
    else this.db.run('BEGIN');
    this.recorder.reset();
    this.inserts.begin(mode ?? CaptureMode.Off);
    // Any transaction may change the schema (DDL, suspended user triggers): runUser sets it again.
    this.knownSchema = null;
    try {
      // A capturing body (runUser) sets the mode itself, with its stamp id, before any user SQL.
      if (mode !== null && mode !== CaptureMode.Capture) setCaptureMode(this.db, mode, stampId);
      const out = body();
      // Inserts have no trigger to refuse them (insert-capture.ts): refused here, rolled back below.
      if (this.inserts.forbidden !== null) throw new BatteryError('BAD_OP', `execLocal cannot write synced table ${this.inserts.forbidden}; use exec`);
      if (this.inserts.unsafeRowid !== null) throw unsafeRowidError(this.db, this.inserts.unsafeRowid.table, this.inserts.unsafeRowid.rowid);
      if (mode !== null) setCaptureMode(this.db, CaptureMode.Forbid);
      if (this.db.beginDeferred) this.db.cancelBegin();
      else this.db.run('COMMIT');
      return out;
    } catch (e) {
      this.knownSchema = null;
      if (this.db.beginDeferred) this.db.cancelBegin();
      else this.db.execRaw('ROLLBACK');
      this.db.clearCache();
      this.loadState();
      throw toBatteryError(e, sqlCode);
    }
  }

  /**
   * A transaction of the replica's own that writes rows of its tables only (folds, sweeps): no
   * DDL, so the schema_version known before it (knownSchema) still holds after it. A snapshot
   * runs one, and the next exec then needs not ask the version again.
   */
  private schemaKeepingTransaction(body: () => void): void {
    const known = this.knownSchema;
    this.transaction(CaptureMode.Off, 0, body);
    this.knownSchema = known;
  }

  private bumpVersion(): number {
    this.version++;
    writeMeta(this.db, 'version', this.version);
    return this.version;
  }

  /**
   * PRAGMA schema_version as of the end of the last runUser, while no other transaction ran since
   * (null: unknown). Saves reading it twice per exec (~7 us CPU each through sql.js).
   */
  private knownSchema: number | null = null;

  private schemaVersion(): number {
    return Number(this.db.get('PRAGMA schema_version')![0]);
  }

  private totalChanges(): number {
    return Number(this.db.get('SELECT total_changes()')![0]);
  }

  private unsyncedCache: { schema: number; synced: number; answer: boolean } | null = null;

  /** Does the main database hold a user table that is not synced (one row images must cover)? Cached per schema. */
  private hasUnsyncedTables(schemaVersion: number): boolean {
    const c = this.unsyncedCache;
    if (c && c.schema === schemaVersion && c.synced === this.tables.size) return c.answer;
    const answer = countUserTables(this.db) > this.tables.size;
    this.unsyncedCache = { schema: schemaVersion, synced: this.tables.size, answer };
    return answer;
  }

  private emit(commit: Commit): void {
    for (const l of [...this.listeners]) l(commit);
  }

  exec(sql: string, params?: SqlParams): ExecResult {
    this.assertOpen();
    const bind = checkParams(params);
    const altering = typeof sql === 'string' && ALTER_LEAD.test(sql);
    const added = altering && bind === undefined ? this.canonicalAdd(sql) : null;
    if (added) return added;
    const scan = newScan();
    // An ALTER is never a lone SELECT: no need to look for one (prepareLone would only say so).
    const select = altering ? null : this.loneSelect(sql, bind);
    return select ?? this.runUser(true, sql, () => this.runAltering(sql, bind, scan), undefined, scan);
  }

  execLocal(sql: string, params?: SqlParams): ExecResult {
    this.assertOpen();
    const bind = checkParams(params);
    return this.loneSelect(sql, bind) ?? this.runUser(false, sql, () => this.runAltering(sql, bind));
  }

  /** Stamp id of the running exec (0 outside a capturing exec): ALTER folds its changes with it. */
  private runningStamp = 0;
  /** The running exec is one ADD COLUMN (loneAddColumn): nothing runs after it but the COMMIT. */
  private runningLoneAdd = false;
  /** The meta rows such an exec writes before its ALTER (runUser), as SQL. */
  private loneAddMeta = '';
  /**
   * Set by runAltering when a lone ADD COLUMN took the direct path whole: the capture rows were
   * rewritten without announcing it, so the user's ALTER was the one statement that bumped
   * schema_version (by one: sqlite3AlterFinishAddColumn changes the cookie once).
   */
  private loneAddBumpedOnce = false;

  /**
   * runUserSql with ADD/DROP COLUMN of synced tables let through (schema-evolution.ts): before
   * such a statement the exec's pending changes of that table are folded and its triggers go,
   * after it the capture tables follow the new columns.
   */
  private runAltering(sql: string, bind: ReturnType<typeof checkParams>, scan: StatementScan = newScan()): ExecResult {
    let altering: SyncedTable | null = null;
    let predicted: PredictedAdd | null = null;
    let alterText = '';
    let predictedMeta = '';
    // A lone ADD COLUMN without parameters runs its ALTER last in the call that rewrites the
    // capture rows, when that path applies: one call into sql.js instead of iterating, stepping
    // and freeing the statement from JS (loneAddColumn made sure the text is that one statement).
    const direct = this.runningLoneAdd && bind === undefined;
    let alterRan = false;
    const check = (stripped: string, text: string) => {
      checkUserStatement(stripped, text);
      scan.statements++;
      if (firstKeyword(stripped) !== 'ALTER') return;
      const alter = parseAlterTable(text);
      const t = alter && this.syncedTableNamed(alter.table);
      if (!alter || !t) return;
      checkAlter(t, alter);
      scan.alters++;
      scan.altered.add(t.shape.name);
      // Before the exec's first statement nothing of it is logged or inserted yet (the delete log
      // and the inserted rowids are per exec); the update log may hold earlier execs' entries.
      if (scan.statements > 1) {
        foldCapturedChanges(this.db, [t], this.runningStamp, this.inserts);
        this.inserts.forget(t.shape.name);
      }
      const column = alter.action === 'add' ? predictAddedColumn(text) : null;
      const meta = this.runningLoneAdd ? this.loneAddMeta : '';
      predicted = column && addBeforeAlter(this.db, t, column, direct ? { meta, alter: text } : { meta });
      if (predicted) {
        alterText = text;
        predictedMeta = meta;
        alterRan = direct;
      } else {
        if (meta) this.db.execRaw(meta);
        foldPendingUpdates(this.db, tablesWithPendingUpdates(this.db, [t]));
        beforeAlter(this.db, t, alter.action);
      }
      altering = t;
    };
    const after = () => {
      if (!altering) return;
      // addBeforeAlter takes its way only for a table without parked rows.
      const parked = predicted ? false : undefined;
      let next = predicted && addAfterAlter(this.db, predicted, { release: !this.runningLoneAdd });
      if (predicted && !next) {
        // The ALTER added another column than read from its text: undone, run the inspecting way.
        if (predictedMeta) this.db.execRaw(predictedMeta);
        beforeAlter(this.db, altering, 'add');
        this.db.execRaw(alterText);
      }
      if (next && alterRan) this.loneAddBumpedOnce = true;
      next ??= afterAlter(this.db, this.stamps, altering);
      altering = null;
      predicted = null;
      predictedMeta = '';
      this.tables.set(next.shape.name.toLowerCase(), next);
      this.mergeParkedAfterAlter(next, parked);
      // An ALTER that dropped the TEMP capture triggers (all but the usual ADD, which rewrote
      // them): installed again, of the new shape, when the text asks for them first.
      if (!this.runningLoneAdd) this.installBeforeStatements(sql);
    };
    if (direct) {
      check(stripLiteralsAndComments(sql), sql);
      if (!alterRan) this.db.execRaw(sql);
      after();
      return { columns: [], rows: [] };
    }
    return runUserSql(this.db, sql, bind, check, after, this.lazyRetry);
  }

  /**
   * A statement a capture guard aborts runs again (lazy-capture.ts), which costs the aborted run
   * and every statement of the exec prepared again (the install changes the TEMP schema), and
   * SQLite does not give an aborted statement's changes() or last_insert_rowid() back. An exec
   * whose text may delete or reads those counters (INSTALL_FIRST) gets the TEMP triggers before
   * its statements run: the first delete after an ADD COLUMN cost ~1.1 ms CPU more when asked
   * for by its guard (schema-bench.ts). A key change (an UPDATE that sets the key or the rowid)
   * still asks through its guard: telling it from the text would take parsing it.
   */
  private installBeforeStatements(sql: string, mode?: CaptureMode): void {
    if (!INSTALL_FIRST.test(sql) || this.tables.size === 0) return;
    // Only in Capture mode: not installed yet, and an exec (execLocal refuses, a merge is quiet).
    if ((mode ?? this.db.get('SELECT mode FROM _rb_ctx')![0]) !== CaptureMode.Capture) return;
    installLazyCapture(this.db, this.tables.values());
  }

  /** What a capture guard's request runs (exec-runner.ts, lazy-capture.ts). */
  private unsafeAtStatement: InsertCapture['unsafeRowid'] = null;
  private readonly lazyRetry: LazyCaptureRetry = {
    statementStarts: () => {
      this.recorder.markStatement();
      this.unsafeAtStatement = this.inserts.unsafeRowid;
    },
    install: () => {
      this.recorder.rewindStatement();
      this.inserts.rewindStatement(this.unsafeAtStatement);
      installLazyCapture(this.db, this.tables.values());
    },
  };

  /**
   * Is `sql` one ALTER TABLE ... ADD COLUMN of a synced table (what a migration step usually is)?
   * Such an exec writes no row: it needs no stamp, capture mode or update-log marks, and the
   * capture mode stays Forbid, so a row write it made anyway would be refused, not lost. A `;`
   * anywhere but at the end (also in a quoted name) answers no: the exec then takes the general path.
   */
  private loneAddColumn(sql: string): boolean {
    // Every exec asks: text that does not start with ALTER (a comment first, say) is answered at once.
    if (typeof sql !== 'string' || !ALTER_LEAD.test(sql)) return false;
    // Only a ';' before the end needs a look past literals and comments.
    const inner = (text: string) => text.includes(';') && text.replace(TRAILING_SEMICOLONS, '').includes(';');
    if (inner(sql) && inner(stripLiteralsAndComments(sql))) return false;
    const alter = parseAlterTable(sql);
    return alter !== null && alter.action === 'add' && this.syncedTableNamed(alter.table) !== undefined;
  }

  /**
   * The synced table SQLite resolves `name` to. The map's keys fold every letter, SQLite folds
   * ASCII letters only: "ä" is another table than a synced "Ä".
   */
  private syncedTableNamed(name: string): SyncedTable | undefined {
    const t = this.tables.get(name.toLowerCase());
    return t && (t.shape.name === name || sqliteLower(t.shape.name) === sqliteLower(name)) ? t : undefined;
  }

  /** A single SELECT writes nothing: no transaction or capture needed (see runLoneSelect). */
  private loneSelect(sql: string, bind: ReturnType<typeof checkParams>): ExecResult | null {
    try {
      return runLoneSelect(this.db, sql, bind, checkUserStatement);
    } catch (e) {
      throw toBatteryError(e);
    }
  }

  /**
   * One statement run once per parameter row, as ONE exec (one transaction, one stamp). Not part
   * of the Replica contract: bulk loads and the benchmarks use it.
   */
  execMany(sql: string, paramRows: SqlParams[]): void {
    this.assertOpen();
    const rows = paramRows.map((p) => checkParams(p));
    this.runUser(true, sql, () => runForEachRow(this.db, sql, rows, (stripped, text) => {
      checkUserStatement(stripped, text);
      if (firstKeyword(stripped) === 'ALTER') throw new BatteryError('SQL', 'execMany runs row writes only; ALTER TABLE goes through exec');
    }, this.lazyRetry));
  }

  /**
   * A migration step is one exec that also writes the new schema version, in the same
   * transaction. Its commit is a SchemaChange carrying the version when the step is only ADD/DROP
   * COLUMN of synced tables; any other step asks for a snapshot: the version lives in the file,
   * and a step that only writes rows would otherwise be replayed from the log without it.
   */
  migrate(steps: readonly string[]): MigrationResult {
    this.assertOpen();
    const from = this.getSchemaVersion();
    if (steps.length < from) {
      throw new BatteryError(
        'SCHEMA',
        `this app defines ${steps.length} migration(s) but the database is at schema version ${from}: a newer version of the app migrated it. ` +
          'Load the newer app (reload the page); an older one must not write to a newer schema.',
        { appVersion: steps.length, schemaVersion: from },
      );
    }
    for (let i = from; i < steps.length; i++) {
      const sql = steps[i]!;
      const scan = newScan();
      try {
        if (this.canonicalAdd(sql, { schemaVersion: i + 1 })) continue;
        this.runUser(true, sql, () => this.runAltering(sql, undefined, scan), { schemaVersion: i + 1 }, scan);
      } catch (e) {
        const cause = toBatteryError(e);
        throw new BatteryError(
          'SCHEMA',
          `migration ${i} (step ${i + 1}) failed and was rolled back: ${cause.message.replace(/\.$/, '')}. The database stays at schema version ${i}.`,
          { step: i, schemaVersion: i, cause: cause.code },
        );
      }
    }
    return { from, to: Math.max(from, steps.length) };
  }

  getSchemaVersion(): number {
    this.assertOpen();
    return Number(readMeta(this.db, 'schema_version') ?? 0);
  }

  replaySchemaChange(change: SchemaChange): void {
    this.assertOpen();
    const { sql, schemaVersion } = change;
    if (typeof sql !== 'string' || !(schemaVersion === null || (Number.isSafeInteger(schemaVersion) && schemaVersion > 0))) {
      throw new BatteryError('BAD_OP', 'a schema change is { sql: string, schemaVersion: positive integer or null }');
    }
    if (schemaVersion !== null && schemaVersion !== this.getSchemaVersion() + 1) {
      throw new BatteryError('SCHEMA', `schema change to version ${schemaVersion} cannot follow version ${this.getSchemaVersion()}`);
    }
    const migration = schemaVersion === null ? undefined : { schemaVersion };
    if (this.canonicalAdd(sql, migration)) return;
    const scan = newScan();
    this.runUser(true, sql, () => this.runAltering(sql, undefined, scan), migration, scan, true);
  }

  /**
   * `scan` (filled by runAltering) decides whether the commit is a SchemaChange; `replaying`
   * requires it to be one (else the transaction is rolled back and SCHEMA thrown).
   */
  private runUser(capture: boolean, sql: string, run: () => ExecResult, migration?: { schemaVersion: number }, scan?: StatementScan, replaying = false): ExecResult {
    this.runningStamp = 0;
    // See loneAddColumn: such an exec needs no stamp, and writes its version with the capture rewrite.
    const loneAdd = capture && scan !== undefined && this.loneAddColumn(sql);
    this.runningLoneAdd = loneAdd;
    this.loneAddBumpedOnce = false;
    const knownBefore = this.knownSchema;
    // A lone ADD COLUMN changes the schema and writes no row: neither is asked (~0.1 ms CPU cold each).
    const schemaBefore = loneAdd ? -1 : (knownBefore ?? this.schemaVersion());
    const stamping = capture && !loneAdd;
    const hlc = stamping ? this.clock.tick() : 0;
    let stampId = 0;
    let changed = false;
    let images: { rows: RowWrite[]; complete: boolean } = { rows: [], complete: true };
    let schemaChanged = false;
    let schemaChange: SchemaChange | undefined;
    let touched: string[] = [];
    let changes: ChangeSet | null = null;
    // The update hook stays on (it collects the rowids of inserts, insert-capture.ts), but its
    // count is only compared with total_changes() when row images matter: with non-synced user
    // tables. Tables created by this call are covered by the snapshot that DDL asks for.
    const hooked = !loneAdd && this.hasUnsyncedTables(schemaBefore);
    const totalBefore = hooked ? this.totalChanges() : 0;
    const runBody = () => {
      let marks = new Map<SyncedTable, number>();
      if (stamping) {
        stampId = this.stamps.create(hlc, this.nodeId);
        this.runningStamp = stampId;
        const mode = startCapture(this.db, stampId, this.tables.size);
        this.installBeforeStatements(sql, mode);
        marks = updateLogMarks(this.db, [...this.tables.values()]);
      } else if (loneAdd) {
        // Written before the ALTER (a statement prepared before it would have to be prepared again),
        // in the call that rewrites the capture objects (see runAltering). A failing ALTER rolls it
        // back, and transaction() reloads the version.
        this.version++;
        this.loneAddMeta = metaRowsSql([['version', this.version], ...(migration ? [['schema_version', migration.schemaVersion] as const] : [])]);
      }
      const out = run();
      if (loneAdd && !(scan.statements === 1 && scan.alters === 1)) throw new BatteryError('SQL', 'internal: a lone ADD COLUMN exec ran other statements');
      // An ALTER creates no TEMP object.
      if (!loneAdd && TEMP_WORD.test(sql)) assertNoTempShadow(this.db, this.syncedNames);
      // Compared now: what follows writes only our own tables (the hook may be paused for it).
      const unseenWrites = hooked && this.totalChanges() - totalBefore > this.recorder.count;
      // A lone ADD COLUMN changed the schema: by one when it took the direct path whole (see
      // loneAddBumpedOnce), else by an unknown amount. Anything else is asked (a lone row write cannot).
      let schemaAfter: number | null;
      if (loneAdd) schemaAfter = this.loneAddBumpedOnce && knownBefore !== null ? knownBefore + 1 : null;
      else schemaAfter = ranAsLoneWrite(this.db, sql) ? schemaBefore : this.schemaVersion();
      schemaChanged = schemaAfter !== schemaBefore;
      if (schemaChanged) {
        // A lone ADD COLUMN leaves every statement of ours valid (see clearUserStatements); the
        // ones of the table's old shape are no longer used and go with the next full clear
        // (any other schema change, export, rollback).
        if (loneAdd) this.db.clearUserStatements();
        else this.db.clearCache();
        // Statements that were all ADD/DROP COLUMN of synced tables change no other table and no
        // trigger, and afterAlter inspected each altered table right after its statement.
        if (!(scan && scan.alters > 0 && scan.alters === scan.statements)) {
          recheckSyncedTables(this.db, [...this.tables.values()]);
          assertMergeSafeTriggers(this.db, this.syncedNames);
        }
      }
      if (stamping) {
        // Only tables this exec wrote can hold its stamp or its logs: the update hook sees every
        // row write to a synced table (insert-capture.ts lists what it misses, none of which
        // applies to them), and the fold's queries cost the same for every table asked.
        const written = new Set(this.recorder.touched().map((name) => name.toLowerCase()));
        const writtenTables = [...this.tables.values()].filter((t) => written.has(t.shape.name.toLowerCase()));
        // A capture trigger that ran wrote its log; REPLACE removes rows with no hook event of theirs.
        const insertedOnly = (t: SyncedTable) => this.recorder.captureLogWrites === 0 && this.inserts.insertedOnly(t.shape.name);
        const manyRows = this.recorder.count > MANY_ROWS;
        // The fold and the reads below write only capture tables: for a many-row exec the hook
        // would make a JS call per clock row for nothing.
        if (manyRows) this.db.pauseWriteListener();
        try {
          const changedTables = foldCapturedChanges(this.db, writtenTables, stampId, this.inserts, insertedOnly, manyRows && this.listeners.size > 0);
          changed = changedTables.length > 0;
          if (changed) {
            this.stamps.raiseVector(this.nodeId, hlc);
            const logStart = (t: SyncedTable) => updateLogStart(this.db, t, marks.get(t), stampId);
            // A value no peer would accept is refused here, before COMMIT (value-cap.ts).
            if (this.listeners.size > 0) {
              changes = changesAt(this.db, this.stamps, changedTables, stampId, {
                logStart,
                // A DROP COLUMN, or a key change carrying cells of columns this table lacks.
                extras: schemaChanged || this.recorder.extraCellWrites > 0,
                manyRows,
                insertedOnly,
              });
              assertChangesWithinCap(changes, (name) => this.tables.get(name.toLowerCase()));
              assertExactIntegers(this.db, changes, (name) => this.tables.get(name.toLowerCase()));
            } else {
              assertStampWithinCap(this.db, changedTables, stampId, 'SQL', logStart);
            }
          } else this.stamps.drop(stampId);
          touched = changedTables.map((t) => t.shape.name);
        } finally {
          if (manyRows) this.db.resumeWriteListener();
        }
      }
      images = this.recorder.images(this.db);
      touched = [...new Set([...touched, ...this.recorder.touched()])];
      if (unseenWrites) images.complete = false;
      if (images.rows.length > 0 && REPLACE_WORD.test(stripLiteralsAndComments(sql))) images.complete = false;
      if (capture && scan && scan.alters > 0 && scan.alters === scan.statements && !changed && images.rows.length === 0 && images.complete) {
        schemaChange = { sql, schemaVersion: migration?.schemaVersion ?? null };
        touched = [...new Set([...touched, ...scan.altered])];
      } else if (replaying) {
        throw new BatteryError('SCHEMA', 'a logged schema change no longer runs as ALTER TABLE ... ADD/DROP COLUMN of synced tables only');
      }
      if (migration) {
        if (!loneAdd) writeMeta(this.db, 'schema_version', migration.schemaVersion);
        schemaChanged = true;
      }
      if (!loneAdd && (changed || images.rows.length > 0 || schemaChanged || !images.complete)) this.bumpVersion();
      this.knownSchema = schemaAfter;
      return out;
    };
    const result = this.transaction(loneAdd ? null : capture ? CaptureMode.Capture : CaptureMode.Forbid, 0, runBody);
    if (loneAdd) this.keepUnsyncedAnswer(knownBefore);
    if (changed || images.rows.length > 0 || schemaChanged || !images.complete) {
      const commit: Commit = { origin: 'local', tables: touched, changes, rows: images.rows, needsSnapshot: (schemaChanged && !schemaChange) || !images.complete, version: this.version };
      if (schemaChange) commit.schemaChange = schemaChange;
      this.emit(commit);
    }
    return result;
  }

  /**
   * After a committed lone ADD COLUMN: it creates and drops no table, so the hasUnsyncedTables
   * answer cached for the schema version before it (`knownBefore`) holds for the one after it.
   */
  private keepUnsyncedAnswer(knownBefore: number | null): void {
    const cached = this.unsyncedCache;
    if (this.knownSchema !== null && cached && cached.schema === knownBefore && cached.synced === this.tables.size) {
      this.unsyncedCache = { ...cached, schema: this.knownSchema };
    }
  }

  /**
   * An exec, migration step or replayed schema change that is one ADD COLUMN of a synced table
   * in the form SQLite reads one way (added-column.ts canonicalAddedColumn), run without the
   * general path: one call into sql.js opens the transaction, rewrites the capture rows, writes
   * the version, runs the ALTER and commits (schema-evolution.ts addBeforeAlter), and nothing is
   * read back. The call into sql.js, cold, costs about what a plain ALTER does; what the general
   * path adds around it (the statement read back with PRAGMA table_xinfo, a COMMIT of its own, the
   * per-exec bookkeeping) was about a quarter of the whole (schema-bench.ts). The commit is the one the
   * general path emits for it. Null, with nothing changed, when the text is not of that form or
   * the call failed (the ALTER refused, a capture row of another form, kept cells or parked rows
   * of the table): the caller takes the general path, which reports SQLite's error if any.
   */
  private canonicalAdd(sql: unknown, migration?: { schemaVersion: number }): ExecResult | null {
    if (typeof sql !== 'string' || !ALTER_LEAD.test(sql)) return null;
    const add = canonicalAddedColumn(sql);
    const t = add && this.syncedTableNamed(add.table);
    if (!add || !t) return null;
    const version = this.version + 1;
    const meta = metaRowsSql([['version', version], ...(migration ? [['schema_version', migration.schemaVersion] as const] : [])]);
    const knownBefore = this.knownSchema;
    this.knownSchema = null;
    this.db.deferBegin();
    let predicted: PredictedAdd | null = null;
    try {
      predicted = addBeforeAlter(this.db, t, add.column, { meta, alter: sql, commit: true });
    } catch {
      // Anything unforeseen: the general path runs the same statement and reports what it meets.
    }
    if (!predicted) {
      // Not committed: nothing ran (the BEGIN is still deferred), or the call failed past its BEGIN.
      if (this.db.beginDeferred) this.db.cancelBegin();
      else this.db.execRaw('ROLLBACK');
      return null;
    }
    this.version = version;
    this.tables.set(t.shape.name.toLowerCase(), makeSyncedTable(predicted.shape, t.tid));
    // The capture rows were rewritten without announcing it: the ALTER bumped schema_version once.
    this.knownSchema = knownBefore === null ? null : knownBefore + 1;
    this.keepUnsyncedAnswer(knownBefore);
    // Our statements stay valid after an ADD COLUMN; the user's are prepared again (see runUser).
    this.db.clearUserStatements();
    this.emit({ origin: 'local', tables: [t.shape.name], changes: null, rows: [], needsSnapshot: false, version: this.version, schemaChange: { sql, schemaVersion: migration?.schemaVersion ?? null } });
    return { columns: [], rows: [] };
  }

  enableSync(table: string): void {
    this.assertOpen();
    if (typeof table !== 'string') throw new BatteryError('SCHEMA', 'table name must be a string');
    const existing = this.tables.get(table.toLowerCase());
    if (existing && !this.syncedTableNamed(table)) {
      throw new BatteryError('SCHEMA', `table "${table}" cannot be synced: its name differs from synced table "${existing.shape.name}" only in the case of non-ASCII letters`, { table });
    }
    if (existing) return;
    const shape = inspectSyncableTable(this.db, table);
    // Checked here and for added columns (afterAlter), not at every inspection: a table an older
    // version synced with such a DEFAULT must stay usable.
    const unsafe = unsafeDefaultColumn(this.db, [...shape.pk, ...shape.cols]);
    if (unsafe) throw new BatteryError('SCHEMA', `Cannot sync table "${shape.name}": ${unsafeDefaultMessage(unsafe)}.`, { table: shape.name });
    const hlc = this.clock.tick();
    let stampId = 0;
    let backfilled = false;
    this.transaction(CaptureMode.Off, 0, () => {
      assertMergeSafeTriggers(this.db, [...this.syncedNames, shape.name]);
      assertNoTempShadow(this.db, [shape.name]);
      const tid = installCapture(this.db, shape);
      stampId = this.stamps.create(hlc, this.nodeId);
      backfilled = backfill(this.db, shape, tid, stampId);
      const synced = makeSyncedTable(shape, tid);
      assertTableHasExactIntegers(this.db, synced);
      if (backfilled) {
        this.stamps.raiseVector(this.nodeId, hlc);
        assertStampWithinCap(this.db, [synced], stampId, 'SCHEMA');
      } else this.stamps.drop(stampId);
      this.mergeParked(synced);
      this.bumpVersion();
      this.tables.set(shape.name.toLowerCase(), synced);
      this.syncedNames.add(shape.name);
    }, 'SCHEMA');
    const changes = backfilled && this.listeners.size > 0 ? changesAt(this.db, this.stamps, [this.tables.get(shape.name.toLowerCase())!], stampId) : null;
    this.emit({ origin: 'local', tables: [shape.name], changes, rows: [], needsSnapshot: true, version: this.version });
  }

  /**
   * The rows parked for `t` (a table enabled or altered just now) that fit it, merged like a remote batch
   * (last writer wins; their stamps were counted in the vector when they were parked). Rows that
   * do not fit stay parked. Inside the caller's transaction.
   * A row that breaks a rule of the table here (CHECK, NOT NULL without a default) stays parked
   * alone: enableSync must not fail for good because of one author's row, nor keep the others out.
   */
  private mergeParked(t: SyncedTable): void {
    const held = this.parked.rowsOf(t.shape.name);
    if (held.tables.length === 0) return;
    const { fit } = splitByFit(held, (name) => (name.toLowerCase() === t.shape.name.toLowerCase() ? t : undefined));
    if (!fit) return;
    if (this.mergeParkedRows(t, fit)) return;
    for (const td of fit.tables) for (const r of td.rows) this.mergeParkedRows(t, { nodes: fit.nodes, tables: [{ ...td, rows: [r] }] });
  }

  /** Merges `cs` (parked rows of `t`) and forgets them; false, with nothing written, if SQLite refused a row for a constraint. */
  private mergeParkedRows(t: SyncedTable, cs: ChangeSet): boolean {
    // The stamps are interned already (parked registers carry them): a rollback leaves no stale cache.
    this.db.run('SAVEPOINT _rb_merge_parked');
    let unfit: ChangeSet | null;
    try {
      ({ unfit } = mergeBatch(this.db, this.stamps, validateChangeSet(cs, () => t, false), { ownRowids: false }));
    } catch (e) {
      this.db.run('ROLLBACK TO _rb_merge_parked');
      this.db.run('RELEASE _rb_merge_parked');
      if (CONSTRAINT_FAILED.test(e instanceof Error ? e.message : String(e))) return false;
      throw e;
    }
    this.db.run('RELEASE _rb_merge_parked');
    // Rows still lacking a NOT NULL column stay parked (nothing of them was written): the merge
    // hands back the row objects of `cs` (validation keeps them), so they are told apart as such.
    const staying = new Set(unfit ? unfit.tables.flatMap((td) => td.rows) : []);
    this.parked.remove(t.shape.name, cs.tables.flatMap((td) => td.rows.filter((r) => !staying.has(r)).map((r) => r.pk)));
    return true;
  }

  /**
   * After an ADD/DROP COLUMN of synced table `t` (exec, a migration step, or its replay from the
   * durable log): the rows parked for `t` that fit it now are merged as at enableSync (mergeParked).
   * They were parked because the sender's definition of `t` differed, and their stamps are counted
   * in the vector already: no peer sends them again (docs/schema-evolution.md, "Tables one peer
   * does not sync"). They are other authors' registers with their own stamps, so the capture
   * triggers are off and the exec's insert capture ignores them; the update hook still sees the
   * writes, so the commit names the table and user triggers' writes become row images. A replay
   * finds the same parked rows (the log replays in order), so it merges the same ones.
   */
  private mergeParkedAfterAlter(t: SyncedTable, known?: boolean): void {
    // `known`: the predicted ADD read it already (addBeforeAlter).
    if (!(known ?? this.parked.has(t.shape.name))) return;
    // The merge compares with the registers of live rows: earlier execs' pending updates first.
    foldPendingUpdates(this.db, tablesWithPendingUpdates(this.db, [t]));
    withCaptureOff(this.db, () => this.inserts.ignoring(() => this.mergeParked(t)));
  }

  /**
   * Refuses a batch that would make this replica hold more node ids than a hello may carry
   * (MAX_VECTOR_ENTRIES): past that, every honest peer would refuse our hello and we would never
   * sync again (docs/security.md, "Bounded per-peer state"). The link that brought it closes.
   */
  private admitNodes(ids: Iterable<string>): void {
    let fresh = 0;
    for (const id of ids) if (!this.stamps.knows(id)) fresh++;
    if (fresh === 0) return;
    const held = this.stamps.nodeCount();
    if (held + fresh > MAX_VECTOR_ENTRIES) {
      throw new BatteryError('BAD_OP', `invalid change set: ${fresh} new node ids would make ${held + fresh}, more than the ${MAX_VECTOR_ENTRIES} a hello may carry`, { limit: 'nodes' });
    }
  }

  syncedTables(): string[] {
    return [...this.tables.values()].map((t) => t.shape.name);
  }

  applyChanges(changes: ChangeSet, options?: ApplyOptions): ApplyResult {
    this.assertOpen();
    const resolve = (name: string) => this.tables.get(name.toLowerCase());
    // Rows of others' signed sets the sender does not share with us: merged where they fit a
    // table here, else parked (parked-registers.ts); checked whole before anything is written.
    const extra = [options?.relayed, options?.parked].filter((x): x is ChangeSet => x !== undefined);
    const extraStamps = extra.map((cs) => validateParked(cs));
    if (extra.length > 0) assertBatchCaps([changes, ...extra]);
    const { fit, unfit } = options?.relayed ? splitByFit(options.relayed, resolve) : { fit: null, unfit: null };
    const toPark = [unfit, options?.parked].filter((x): x is ChangeSet => x !== null && x !== undefined);
    const batch = validateChangeSet(fit ? mergeChangeSets([changes, fit]) : changes, resolve);
    const maxHlcByNode = new Map(batch.maxHlcByNode);
    for (const e of extraStamps) for (const [node, hlc] of e.maxHlcByNode) if ((maxHlcByNode.get(node) ?? -1) < hlc) maxHlcByNode.set(node, hlc);
    const maxHlc = Math.max(batch.maxHlc, ...extraStamps.map((e) => e.maxHlc));
    if (!options?.trusted) this.clock.checkSkew(maxHlc);
    this.admitNodes(maxHlcByNode.keys());
    let parked: ChangeSet | null = null;
    let images: { rows: RowWrite[]; complete: boolean } = { rows: [], complete: true };
    let touched: string[] = [];
    let kept: SignedBody[] = [];
    let held: VersionVector | null = null;
    const totalBefore = this.totalChanges();
    // A log replay runs without user triggers (their writes are in the records' row images,
    // user-triggers.ts). Without user triggers a merge writes only synced and internal tables:
    // no row images to take, so the update hook (a JS call per written row) can stay off.
    const replay = options?.trusted === true;
    const quiet = replay || !hasUserTriggers(this.db);
    const merged = this.transaction(CaptureMode.Off, 0, () => {
      // The merge reads and writes the registers of live rows: pending updates first.
      foldPendingUpdates(this.db, tablesWithPendingUpdates(this.db, [...this.tables.values()]));
      const resumeTriggers = replay ? suspendUserTriggers(this.db) : null;
      if (quiet) this.db.pauseWriteListener();
      let r;
      try {
        r = mergeBatch(this.db, this.stamps, batch, { ownRowids: quiet });
      } finally {
        if (quiet) this.db.resumeWriteListener();
      }
      resumeTriggers?.();
      // Rows that cannot live here yet (a NOT NULL column their sender's table lacks) wait parked.
      if (r.unfit) toPark.push(r.unfit);
      if (toPark.length > 0) parked = this.parked.park(toPark.length === 1 ? toPark[0]! : mergeChangeSets(toPark), (hlc, node) => this.stamps.intern(hlc, node));
      for (const [node, hlc] of maxHlcByNode) {
        const cap = options?.vectorCeiling ? entryOf(options.vectorCeiling, node) : undefined;
        if (cap !== undefined && cap < hlc) (held ??= {})[node] = cap;
        this.stamps.raiseVector(node, cap !== undefined && cap < hlc ? cap : hlc);
      }
      if (options?.signed && options.signed.length > 0) kept = this.signed.keep(options.signed);
      this.authors.add(kept);
      images = this.recorder.images(this.db);
      touched = this.recorder.touched();
      if (!quiet && this.totalChanges() - totalBefore > this.recorder.count) images.complete = false;
      if (r.applied > 0 || images.rows.length > 0 || parked) this.bumpVersion();
      return r;
    }, 'BAD_OP');
    this.clock.advancePast(maxHlc);
    const tables = [...new Set([...merged.tables, ...touched])];
    if (merged.applied > 0 || images.rows.length > 0 || parked) {
      this.emit({ origin: 'remote', tables, changes: merged.changes, ...(kept.length > 0 ? { signed: kept } : {}), ...(held ? { vectorCeiling: held } : {}), ...(parked ? { parked } : {}), rows: images.rows, needsSnapshot: !images.complete, version: this.version });
    }
    if (kept.length > 0 && this.signed.due()) this.sweepSigned();
    return { applied: merged.applied, changes: merged.changes, tables };
  }

  changesSince(since: VersionVector, options?: { tables?: string[] }): ChangeSet {
    this.assertOpen();
    validateVector(since, 'since');
    let tables = [...this.tables.values()];
    if (options?.tables) {
      const wanted = new Set(options.tables.map((t) => String(t).toLowerCase()));
      tables = tables.filter((t) => wanted.has(t.shape.name.toLowerCase()));
    }
    this.foldUpdateLogs();
    return changesSince(this.db, this.stamps, tables, since);
  }

  signedSince(since: VersionVector): SignedBody[] {
    this.assertOpen();
    validateVector(since, 'since');
    return this.signed.since(since);
  }

  isKnownAuthor(nodeId: string): boolean {
    this.assertOpen();
    return this.authors.has(nodeId);
  }

  /** Drops signed bodies no register needs any more (signed-bodies.ts); changes no visible state. */
  private sweepSigned(): void {
    if (this.signed.isEmpty()) return;
    this.foldUpdateLogs();
    this.schemaKeepingTransaction(() => this.signed.sweep(this.tables.values(), (used) => this.parked.addStampsTo(used)));
  }

  /** Folds the update logs (capture-fold.ts) before registers of live rows are read out. */
  private foldUpdateLogs(): void {
    const pending = tablesWithPendingUpdates(this.db, [...this.tables.values()]);
    if (pending.length > 0) this.schemaKeepingTransaction(() => foldPendingUpdates(this.db, pending));
  }

  getVector(): VersionVector {
    this.assertOpen();
    return this.stamps.vector();
  }

  getVersion(): number {
    return this.version;
  }

  fingerprints(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const t of this.tables.values()) out[t.shape.name] = describeSchema(t.shape.pk, t.shape.cols);
    return out;
  }

  replayRows(rows: RowWrite[]): void {
    this.assertOpen();
    if (!Array.isArray(rows)) throw new BatteryError('BAD_OP', 'rows must be an array');
    this.transaction(CaptureMode.Forbid, 0, () => replayRowImages(this.db, rows, (t) => this.tables.has(t.toLowerCase())), 'BAD_OP');
  }

  onCommit(listener: (commit: Commit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  export(): Uint8Array {
    this.assertOpen();
    // Not needed for correctness (the log is in the file), but a snapshot is the idle moment to
    // pay for it, and the file is smaller folded.
    this.foldUpdateLogs();
    this.sweepSigned();
    return this.db.exportBytes();
  }

  exportInSlices(): ExportCursor {
    this.assertOpen();
    return this.db.exportCursor();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }
}
