/**
 * The contracts between the layers of the worker side:
 *   Replica        in-memory, synchronous: sql.js + change capture + HLC + merge (replica.ts)
 *   DurableReplica the Replica behind a durable log + snapshots; async, acknowledges a write only
 *                  after it is in storage (durable-replica.ts). The worker hub and the sync
 *                  engine only ever talk to a DurableReplica.
 */
import type { MigrationResult } from '../../protocol/migrations.js';
import type { ChangeSet, SignedBody } from './change-set.js';
import type { SigningIdentity } from './signing-identity.js';
import type { BatteryError } from '../../protocol/errors.js';
import type { VersionVector } from './version-vector.js';
import type { ExecResult, SqlParams, SqlValue } from '../../protocol/values.js';

export type { ExecResult, SqlParams, SqlValue };

/** A row image of a write to a table that is NOT synced; replayed verbatim at start-up. */
export type RowWrite =
  | { op: 'upsert'; table: string; rowid: number; columns: string[]; values: SqlValue[] }
  | { op: 'delete'; table: string; rowid: number };

/**
 * A schema change the durable log records as itself instead of a snapshot: an exec (or migration
 * step) whose every statement is ALTER TABLE ... ADD/DROP COLUMN on a synced table. Log replay
 * runs it again through the same code (Replica.replaySchemaChange); SQLite's ALTER is
 * deterministic (a column added by ALTER may only have a constant DEFAULT), and so is what the
 * replica does around it (docs/schema-evolution.md).
 */
export interface SchemaChange {
  sql: string;
  /** The migration step's schema version, written in the same transaction; null for an exec. */
  schemaVersion: number | null;
}

/**
 * What one committed transaction did, emitted by Replica.onCommit right after COMMIT.
 * Enough to redo the transaction on the previous state (log replay) and to tell others about it.
 */
export interface Commit {
  origin: 'local' | 'remote';
  /** User tables whose visible content may have changed (drives `change` events and `watch`). */
  tables: string[];
  /**
   * Register changes of synced tables made by this commit: the captured local changes, or the
   * subset of a remote batch that was new. Replayable with applyChanges({trusted: true}).
   */
  changes: ChangeSet | null;
  /**
   * Remote commits: the signed bodies of other replicas this commit stored (new to this replica),
   * to forward verbatim and to log. Absent or empty otherwise.
   */
  signed?: SignedBody[];
  /**
   * Remote commits applied with ApplyOptions.vectorCeiling: the entries the ceiling held below
   * the changes' stamps. Logged, so a replay raises the vector no further than this apply did.
   */
  vectorCeiling?: VersionVector;
  /**
   * Remote commits: the registers this commit parked (ApplyOptions.relayed/parked: others' signed
   * rows of tables not synced here, or that do not fit the table here), to forward with their
   * bodies; logged, and replayed as ApplyOptions.parked. Absent otherwise.
   */
  parked?: ChangeSet;
  /** Writes to non-synced tables, in order. */
  rows: RowWrite[];
  /** The schema changed (DDL, enableSync) or something a log record cannot express happened: persist a snapshot. */
  needsSnapshot: boolean;
  /** Set (and needsSnapshot false) when the commit is nothing but a SchemaChange: logged as one. */
  schemaChange?: SchemaChange;
  /** getVersion() after this commit. */
  version: number;
}

export interface ApplyOptions {
  /**
   * Log replay of our own durable records: skip the SKEW check (stamps may be "from the future"
   * after a clock change), and user triggers do not fire (their writes are in the records' row images).
   */
  trusted?: boolean;
  /**
   * The verified signed bodies `changes` came in (sync checked them before calling): each is kept
   * verbatim, in the same transaction, while a register still carries its stamp, so deltas can
   * forward it unchanged (docs/security.md, "Authorship").
   */
  signed?: SignedBody[];
  /**
   * The highest stamp each listed node's vector entry may rise to by this apply (unlisted nodes:
   * up to their highest stamp in `changes`, as always). Sync sets it for authors whose sets did
   * not come from themselves and do not continue their chain (docs/security.md, "Withheld
   * sets"); the registers are applied all the same.
   */
  vectorCeiling?: VersionVector;
  /**
   * Registers of the `signed` sets in tables the sender does not share with us, of authors other
   * than the sender (sets it relays): a row that fits a table synced here (its key, no cell naming
   * a key column) is merged like `changes`; any other row is parked (parked-registers.ts,
   * docs/schema-evolution.md "Tables one peer does not sync"). Malformed: BAD_OP, nothing applied.
   */
  relayed?: ChangeSet;
  /**
   * Registers of the `signed` sets to park only: the sender's own rows of a table whose definition
   * its hello showed to differ from ours (compare-schemas.ts), or of a table not synced here.
   */
  parked?: ChangeSet;
}

export interface ApplyResult {
  /** Register values that were newer than ours and were taken. */
  applied: number;
  /** The effective changes (what was new), for forwarding to other peers; null if nothing was new. */
  changes: ChangeSet | null;
  tables: string[];
}

export interface ReplicaOptions {
  /** Refuse remote stamps more than this far ahead of the local clock (default 5 minutes). */
  maxClockDriftMs?: number;
  /** Injectable wall clock (default Date.now) so tests can move time. */
  now?: () => number;
  /** Node id to use when the database has none yet (default: random). Stable once stored. */
  nodeId?: string;
  /**
   * An hlc the clock must start past (besides every stamp stored in the database). The durable
   * layer passes the newest stamp the replica it replaces may have handed out, so a replica
   * rebuilt from storage after a refused write never reuses that write's stamp.
   */
  clockFloor?: number;
  /**
   * The node id to write under from now on, replacing a stored one: the durable replica passes
   * its key-bound id, so a database made with an older random id writes new changes under the
   * key's id (registers stored under the old id stay as they are).
   */
  bindNodeId?: string;
}

/** The in-memory replica. Every method is synchronous and throws BatteryError. */
export interface Replica {
  readonly nodeId: string;
  /** Runs SQL with change capture; a multi-statement string is one atomic transaction. */
  exec(sql: string, params?: SqlParams): ExecResult;
  /** Runs SQL without change capture; refuses (BAD_OP) to write a synced table. */
  execLocal(sql: string, params?: SqlParams): ExecResult;
  /**
   * Turns on sync for a table (validates it, installs capture, backfills, merges the rows parked
   * for it that fit: ApplyOptions.relayed). Idempotent.
   */
  enableSync(table: string): void;
  syncedTables(): string[];
  /** Merges a remote (or replayed) change set in one transaction. Throws BAD_OP/SKEW/SCHEMA and changes nothing on error. */
  applyChanges(changes: ChangeSet, options?: ApplyOptions): ApplyResult;
  /** Every register whose stamp is above `since[origin]` (all of them for an empty vector). */
  changesSince(since: VersionVector, options?: { tables?: string[] }): ChangeSet;
  /** Stored signed bodies of other nodes whose stamp is above `since[node]`, in arrival order. */
  signedSince(since: VersionVector): SignedBody[];
  /**
   * Is `nodeId` known to sign its changes: a node whose signed body this replica verified and kept
   * (in the same transaction, so it survives reopen, crashes and snapshots), or its own key-bound
   * id? Sync refuses unsigned changes under such a node whatever their stamp (docs/security.md,
   * "Legacy history").
   */
  isKnownAuthor(nodeId: string): boolean;
  getVector(): VersionVector;
  /** A counter that grows with every local or merged change. */
  getVersion(): number;
  /** Schema fingerprint per synced table: equal fingerprints = safe to merge. */
  fingerprints(): Record<string, string>;
  /**
   * Applies the steps past the stored schema version, each as one exec with the version written in
   * the same transaction (protocol/migrations.ts). SCHEMA when the database is at a higher version
   * than `steps` reaches, or when a step fails (that step rolled back, earlier ones kept).
   */
  migrate(steps: readonly string[]): MigrationResult;
  /** Migration steps applied to this database (0: none). */
  getSchemaVersion(): number;
  /** Re-applies non-synced row images from the log. */
  replayRows(rows: RowWrite[]): void;
  /**
   * Runs a logged SchemaChange again, as exec/migrate ran it (one transaction, the schema version
   * written with it). Throws, changing nothing, when the SQL is not such a change (any more).
   */
  replaySchemaChange(change: SchemaChange): void;
  onCommit(listener: (commit: Commit) => void): () => void;
  /** The database file (sql.js export); everything the replica set up on the connection survives it. */
  export(): Uint8Array;
  /**
   * export() a few pages per step, for a snapshot that must not hold the thread: the file as of
   * the step that completes the copy (writes made between steps are in it). Steps must run
   * between calls, never inside one; close() or a rebuild needs abort() first.
   */
  exportInSlices(): ExportCursor;
  close(): void;
}

/** A copy of the database file made a few pages at a time (Replica.exportInSlices). */
export interface ExportCursor {
  /** Copies up to `pages` more pages; true once the copy is complete. */
  step(pages: number): boolean;
  /** The file as of the step that completed the copy (only after step returned true). */
  result(): Uint8Array;
  /** Stops the copy and frees what it holds (no-op once complete). */
  abort(): void;
}

/**
 * The replica behind its durable log. Writes resolve only once their changes are in storage
 * (writes of one tick share one storage transaction). Reads are served from memory at once.
 * If storage refuses a write (QUOTA), that write and the others of its group are rejected, the
 * in-memory state is rolled back to what is durable, and reads keep working.
 */
export interface DurableReplica {
  readonly nodeId: string;
  /**
   * The key pair `nodeId` is bound to; sync signs this replica's own changes with it. Kept beside
   * the database, never inside its file. Null only for in-memory test twins that model a replica
   * of a build without keys (everything they send is unsigned, docs/security.md "Legacy history").
   */
  readonly identity: SigningIdentity | null;
  exec(sql: string, params?: SqlParams): Promise<ExecResult>;
  execLocal(sql: string, params?: SqlParams): Promise<ExecResult>;
  enableSync(table: string): Promise<void>;
  /** Durable before it resolves; the sync engine moves a peer's acknowledged vector only after. */
  applyChanges(changes: ChangeSet, options?: ApplyOptions): Promise<ApplyResult>;
  /**
   * applyChanges in two steps: resolves once the changes are merged in memory (or rejects, with
   * nothing applied), with `stored` resolving once they are durable (rejecting as applyChanges
   * would). Lets a receiver merge the next delta piece while the previous one is being stored.
   * Absent = use applyChanges.
   */
  applyChangesStaged?(changes: ChangeSet, options?: ApplyOptions): Promise<{ result: ApplyResult; stored: Promise<void> }>;
  changesSince(since: VersionVector, options?: { tables?: string[] }): ChangeSet;
  signedSince(since: VersionVector): SignedBody[];
  /** Replica.isKnownAuthor. */
  isKnownAuthor(nodeId: string): boolean;
  getVector(): VersionVector;
  getVersion(): number;
  fingerprints(): Record<string, string>;
  syncedTables(): string[];
  /** Replica.migrate, each step durable before the next runs; resolves once all are durable. */
  migrate(steps: readonly string[]): Promise<MigrationResult>;
  getSchemaVersion(): number;
  /** Called after a commit is durable (local writes: to broadcast; all: change events). */
  onCommit(listener: (commit: Commit) => void): () => void;
  /**
   * Called as soon as a remote commit (applyChanges) is in memory, before it is durable; onCommit
   * still hears it once stored. Live queries re-run on it, so merged data shows without waiting
   * for this replica's storage (docs/architecture.md, "Merged data before it is stored").
   * Absent = remote commits are heard through onCommit only.
   */
  onRemoteApplied?(listener: (commit: Commit) => void): () => void;
  /**
   * Runs a read-only statement on memory now, without waiting for writes still being stored
   * (live-query re-runs after onRemoteApplied). Absent = reads go through execLocal.
   */
  readNow?(sql: string, params?: SqlParams): ExecResult;
  /**
   * Resolves once everything memory holds right now is durable. Rejects if storage refuses part of
   * it, only after memory was rolled back to storage (so reading again reads what is stored).
   * Whatever a peer is told (hello vector, delta, ack) is read from memory and sent only after
   * this resolves: memory can hold writes not yet stored, and a refused one must never leave.
   * Absent = memory is always durable.
   */
  whenDurable?(): Promise<void>;
  /**
   * Problems met while opening that did not stop it (log entries that did not apply and were set
   * aside), reported to every tab as `error` events. Absent = none.
   */
  startupErrors?(): BatteryError[];
  /** What we know a peer holds (by its node id), kept across restarts so reconnects send only what it missed. */
  getPeerVector(peerNodeId: string): VersionVector | undefined;
  setPeerVector(peerNodeId: string, vector: VersionVector): Promise<void>;
  /**
   * A record kept beside the database for the sync layer (a half-downloaded mailbox snapshot),
   * kept across restarts; undefined when absent. Values are structured-clonable (bytes included).
   */
  getRecord(key: string): Promise<unknown>;
  /** Stores records in one transaction, durable before it resolves; `undefined` deletes one. */
  putRecords(entries: ReadonlyArray<readonly [key: string, value: unknown]>): Promise<void>;
  close(): Promise<void>;
}
