/**
 * openDurableReplica: the in-memory Replica behind the durable log (docs/architecture.md, "The path of one exec").
 *
 * Writes run on the replica at once (so their order is the call order) and resolve when the group
 * commit holding their Commit is stored; DurableReplica.onCommit listeners hear a commit only then
 * (onRemoteApplied listeners hear a peer's commit at once, for live queries: readNow reads memory).
 * Reads are served from memory immediately. When storage refuses a group, the replica is rebuilt
 * from storage (snapshot + log) and swapped in, and only then are its callers rejected: memory
 * keeps no write that was refused, and a caller reading after the rejection reads what is stored.
 * Writes made meanwhile wait for the swap.
 *
 * getVersion() across restarts: a replay does not always move the replica's counter as the
 * original commit did (replayRows of a non-synced write does not count, while the exec did), so
 * the version would go backwards after a restart. Every log entry and snapshot therefore records
 * the version it stands at, and this layer reports the replica's counter plus the offset that
 * makes the last replayed entry's version come out exact (versionOffset; 0 until a replay differs).
 */
import type { ChangeSet, SignedBody } from '../replica/contracts/change-set.js';
import type { SigningIdentity } from '../replica/contracts/signing-identity.js';
import { loadSigningIdentity } from './identity-store.js';
import { DurableLog } from './durable-log.js';
import { exceedsReplayLimits } from './durable-log-limits.js';
import { BatteryError } from '../protocol/errors.js';
import type { MigrationResult } from '../protocol/migrations.js';
import type {
  ApplyOptions, ApplyResult, Commit, DurableReplica, ExecResult, Replica, SqlParams,
} from '../replica/contracts/replica-types.js';
import { DEFAULT_SNAPSHOT_THRESHOLDS, type LogStats, type SnapshotThresholds } from './snapshot-policy.js';
import { ASIDE_PREFIX, repairAtOpen, restore, type RestoreOptions } from './snapshot-restore.js';
import { peerKey, recordKey, type LoadedState } from './snapshot-store.js';
import { PeerVectorBook } from './peer-vector-book.js';
import type { VersionVector } from '../replica/contracts/version-vector.js';

export type { CreateReplica } from './snapshot-restore.js';

export interface OpenDurableReplicaOptions extends RestoreOptions {
  /** Log size past which a snapshot is taken (see snapshot-policy.ts for the defaults' why). */
  snapshotEvery?: Partial<SnapshotThresholds>;
  /** Where start-up repairs are reported (default console.warn). */
  warn?: (message: string) => void;
}

/** A DurableReplica plus the knobs tests and benchmarks use. */
export interface DurableReplicaHandle extends DurableReplica {
  /** Always present here: the durable replica keeps its key pair beside the database. */
  readonly identity: SigningIdentity;
  /** Takes a snapshot now (with the next group). */
  snapshot(): Promise<void>;
  logStats(): LogStats & { snapshotSeq: number; lastSeq: number };
  /** Resolves once nothing is pending, being written or scheduled (background snapshots included). */
  settled(): Promise<void>;
  whenDurable(): Promise<void>;
  startupErrors(): BatteryError[];
}

export async function openDurableReplica(options: OpenDurableReplicaOptions): Promise<DurableReplicaHandle> {
  const warn = options.warn ?? ((m: string) => console.warn(m));
  // The key pair first: the replica writes under its key-bound node id (also after a rollback,
  // which restores with the same options).
  const identity = await loadSigningIdentity(options.store);
  const o = { ...options, replicaOptions: { ...options.replicaOptions, bindNodeId: identity.nodeId } };
  const restored = await restore(o, warn);
  try {
    await repairAtOpen(o.store, restored);
  } catch (e) {
    restored.replica.close();
    throw e;
  }
  const problems: BatteryError[] = [];
  if (restored.setAside) {
    const { seqs, error } = restored.setAside;
    const which = seqs.length === 1 ? `log entry ${seqs[0]}` : `log entries ${seqs[0]}-${seqs[seqs.length - 1]}`;
    const problem = new BatteryError(
      'WORKER',
      `${which} could not be applied and ${seqs.length === 1 ? 'was' : 'were'} set aside (kept in storage under "${ASIDE_PREFIX}" for a fixed version); the database opened from the state before ${seqs.length === 1 ? 'it' : 'them'}. ${error.message}`,
      { setAside: seqs },
    );
    warn(`rtc-battery: ${problem.message}`);
    problems.push(problem);
  }
  return new DurableReplicaImpl(o, warn, identity, restored.replica, restored.loaded, restored.versionOffset, problems);
}

class DurableReplicaImpl implements DurableReplicaHandle {
  private replica: Replica;
  private unsubscribe: () => void;
  private readonly log: DurableLog;
  private readonly listeners = new Set<(commit: Commit) => void>();
  private readonly remoteListeners = new Set<(commit: Commit) => void>();
  private readonly peers: PeerVectorBook;
  /** Set while memory is being rolled back to storage after a failed write. */
  private recovery: Promise<void> | null = null;
  /** Why the last rollback failed (it is retried by the next write). */
  private rollbackError: BatteryError | null = null;
  private closed = false;
  /** No stamp at or below this may be issued again (see rollBack). */
  private clockFloor = 0;

  constructor(
    private readonly o: OpenDurableReplicaOptions,
    private readonly warn: (m: string) => void,
    readonly identity: SigningIdentity,
    replica: Replica,
    loaded: LoadedState,
    private versionOffset: number,
    private readonly problems: BatteryError[] = [],
  ) {
    this.replica = replica;
    this.peers = new PeerVectorBook(loaded.peers);
    this.log = new DurableLog({
      store: o.store,
      nodeId: replica.nodeId,
      snapshotSeq: loaded.meta!.snapshotSeq,
      lastSeq: loaded.lastSeq,
      stats: { records: loaded.records.length, bytes: loaded.recordBytes, snapshotBytes: loaded.meta!.snapshotBytes },
      thresholds: { ...DEFAULT_SNAPSHOT_THRESHOLDS, ...o.snapshotEvery },
      exportSnapshot: () => ({ data: this.replica.export(), version: this.getVersion() }),
      exportInSlices: () => this.replica.exportInSlices(),
      version: () => this.getVersion(),
      pieces: loaded.meta!.pieces ?? [],
      entrySizes: loaded.recordSizes,
      onDurable: (commits) => this.announce(commits),
      onFailure: (_error, lost) => { this.recovery = this.startRollBack(lost); },
    });
    this.unsubscribe = this.subscribe(replica);
  }

  private subscribe(replica: Replica): () => void {
    return replica.onCommit((c) => {
      const commit: Commit = {
        ...c,
        version: c.version + this.versionOffset,
        needsSnapshot: c.needsSnapshot || (c.changes !== null && exceedsReplayLimits(c.changes)) || (c.parked !== undefined && exceedsReplayLimits(c.parked)),
      };
      this.log.append(commit);
      if (commit.origin === 'remote') this.tell(this.remoteListeners, [commit]);
    });
  }

  get nodeId(): string {
    return this.replica.nodeId;
  }

  startupErrors(): BatteryError[] {
    return [...this.problems];
  }

  exec(sql: string, params?: SqlParams): Promise<ExecResult> {
    return this.write((r) => r.exec(sql, params));
  }

  execLocal(sql: string, params?: SqlParams): Promise<ExecResult> {
    return this.write((r) => r.execLocal(sql, params));
  }

  enableSync(table: string): Promise<void> {
    return this.write((r) => r.enableSync(table));
  }

  async migrate(steps: readonly string[]): Promise<MigrationResult> {
    // One step per write: a step is durable (its snapshot or schema change entry stored) before
    // the next one runs, so a crash mid-migration reopens at the last step that was acknowledged.
    // After a refused write, the version is read once memory is rolled back to storage.
    if (this.closed || this.recovery || this.rollbackError) await this.ready();
    const from = this.getSchemaVersion();
    if (steps.length <= from) return this.write((r) => r.migrate(steps));
    for (let i = from + 1; i <= steps.length; i++) await this.write((r) => r.migrate(steps.slice(0, i)));
    return { from, to: steps.length };
  }

  getSchemaVersion(): number {
    return this.replica.getSchemaVersion();
  }

  applyChanges(changes: ChangeSet, options?: ApplyOptions): Promise<ApplyResult> {
    return this.write((r) => r.applyChanges(changes, options));
  }

  async applyChangesStaged(changes: ChangeSet, options?: ApplyOptions): Promise<{ result: ApplyResult; stored: Promise<void> }> {
    if (this.closed) throw new BatteryError('CLOSED', 'the database is closed');
    // Refused rather than applied after the rollback: the caller merges pieces in order without
    // waiting for each to be stored, and the piece before this one may be among the refused ones.
    if (this.recovery || this.rollbackError) throw new BatteryError('QUOTA', 'storage refused a write; memory is being rolled back');
    const result = this.replica.applyChanges(changes, options);
    return { result, stored: this.log.barrier() };
  }

  changesSince(since: VersionVector, options?: { tables?: string[] }): ChangeSet {
    return this.replica.changesSince(since, options);
  }

  signedSince(since: VersionVector): SignedBody[] {
    return this.replica.signedSince(since);
  }

  isKnownAuthor(nodeId: string): boolean {
    return this.replica.isKnownAuthor(nodeId);
  }

  getVector(): VersionVector {
    return this.replica.getVector();
  }

  getVersion(): number {
    return this.replica.getVersion() + this.versionOffset;
  }

  fingerprints(): Record<string, string> {
    return this.replica.fingerprints();
  }

  syncedTables(): string[] {
    return this.replica.syncedTables();
  }

  onCommit(listener: (commit: Commit) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  onRemoteApplied(listener: (commit: Commit) => void): () => void {
    this.remoteListeners.add(listener);
    return () => { this.remoteListeners.delete(listener); };
  }

  readNow(sql: string, params?: SqlParams): ExecResult {
    if (this.closed) throw new BatteryError('CLOSED', 'the database is closed');
    return this.replica.execLocal(sql, params);
  }

  getPeerVector(peerNodeId: string): VersionVector | undefined {
    return this.peers.get(peerNodeId);
  }

  async setPeerVector(peerNodeId: string, vector: VersionVector): Promise<void> {
    await this.ready();
    const copy = { ...vector };
    await this.log.put(peerKey(peerNodeId), copy);
    // Bounded (peer-vector-book.ts): the vectors this evicts are deleted with the next write.
    for (const evicted of this.peers.set(peerNodeId, copy)) this.log.remove(peerKey(evicted));
  }

  async getRecord(key: string): Promise<unknown> {
    await this.ready();
    await this.log.barrier();
    return this.o.store.get(recordKey(key));
  }

  async putRecords(entries: ReadonlyArray<readonly [key: string, value: unknown]>): Promise<void> {
    await this.ready();
    // Put synchronously one after another, they land in the same group: one transaction.
    await Promise.all(entries.map(([key, value]) => this.log.put(recordKey(key), value)));
  }

  async snapshot(): Promise<void> {
    await this.ready();
    await this.log.requestSnapshot();
  }

  logStats(): LogStats & { snapshotSeq: number; lastSeq: number } {
    return this.log.getStats();
  }

  async whenDurable(): Promise<void> {
    if (this.closed) throw new BatteryError('CLOSED', 'the database is closed');
    if (this.recovery || this.rollbackError) {
      // Memory still holds refused writes (or a rebuild failed): not durable; wait until it is.
      await this.ready();
      throw new BatteryError('QUOTA', 'storage refused writes that memory held; they were rolled back');
    }
    try {
      await this.log.barrier(); // the group holding every commit so far (rejects with its error)
    } catch (e) {
      await this.ready().catch(() => {});
      throw e;
    }
  }

  async settled(): Promise<void> {
    await this.recovery?.catch(() => {});
    await this.log.whenIdle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.recovery?.catch(() => {});
    await this.log.close();
    await this.recovery?.catch(() => {}); // the final flush may have failed and started one
    this.unsubscribe();
    this.replica.close();
    await this.o.store.close();
  }

  /**
   * Runs a write on the replica right away (synchronously, when no rollback is under way) and
   * resolves once its commit (and everything before it) is durable.
   */
  private async write<T>(run: (r: Replica) => T): Promise<T> {
    if (this.closed || this.recovery || this.rollbackError) await this.ready();
    const result = run(this.replica);
    try {
      await this.log.barrier();
    } catch (e) {
      // Storage refused the group, and memory is being rolled back (onFailure). The caller hears
      // of it once that is done, as whenDurable's callers do: what it reads next (getVersion,
      // getSchemaVersion after a refused migration step, readNow) is what storage holds.
      await this.ready().catch(() => {});
      throw e;
    }
    return result;
  }

  private async ready(): Promise<void> {
    if (this.closed) throw new BatteryError('CLOSED', 'the database is closed');
    // A rollback that failed earlier is retried once per waiting call, shared by all of them.
    if (!this.recovery && this.rollbackError) this.recovery = this.startRollBack([]);
    if (this.recovery) await this.recovery;
    if (this.closed) throw new BatteryError('CLOSED', 'the database is closed');
  }

  private startRollBack(lost: Commit[]): Promise<void> {
    const p = this.rollBack(lost);
    p.catch(() => {}); // observed by the writes that wait on it; must not be "unhandled" otherwise
    return p;
  }

  /** Rebuilds the replica from storage after a failed write and swaps it in. */
  private async rollBack(lost: Commit[]): Promise<void> {
    // The refused commits' stamps may already have reached a peer or a reader: the rebuilt
    // replica, whose clock only knows the stamps in storage, must never hand them out again, or
    // two different writes would share a stamp and replicas diverge with equal vectors. Every
    // stamp the current replica issued or took is in its vector (writes wait for this rollback,
    // so none is issued meanwhile); clockFloor also remembers floors of earlier rollbacks.
    try {
      for (const hlc of Object.values(this.replica.getVector())) if (hlc > this.clockFloor) this.clockFloor = hlc;
      const { replica, versionOffset, setAside } = await restore({ ...this.o, replicaOptions: { ...this.o.replicaOptions, clockFloor: this.clockFloor } }, this.warn);
      if (setAside) {
        // Stored entries that no longer apply: keep memory's refusal state (writes wait and retry)
        // rather than swap in a replica that lacks them.
        replica.close();
        throw setAside.error;
      }
      if (this.closed) {
        replica.close(); // close() is under way and closes the current one
        return;
      }
      // Callers may have seen the version move on with the lost commits: it keeps growing from
      // there (a gap is fine; going back is not), and storage records it from now on.
      const floor = this.getVersion() + 1;
      this.unsubscribe();
      this.replica.close();
      this.replica = replica;
      this.versionOffset = Math.max(versionOffset, floor - replica.getVersion());
      this.unsubscribe = this.subscribe(replica);
      this.rollbackError = null;
      this.log.resume();
      const tables = [...new Set(lost.flatMap((c) => c.tables))];
      // Nobody was told about the lost commits, but reads may have seen them: live queries on
      // those tables must re-run against the rolled-back state.
      if (tables.length > 0) {
        this.announce([{ origin: 'local', tables, changes: null, rows: [], needsSnapshot: false, version: this.getVersion() }]);
      }
    } catch (e) {
      this.rollbackError = e instanceof BatteryError ? e : new BatteryError('WORKER', `rollback failed: ${String(e)}`);
      throw this.rollbackError;
    } finally {
      this.recovery = null;
    }
  }

  private announce(commits: Commit[]): void {
    this.tell(this.listeners, commits);
  }

  private tell(listeners: Set<(commit: Commit) => void>, commits: Commit[]): void {
    for (const commit of commits) {
      for (const listener of [...listeners]) {
        try {
          listener(commit);
        } catch (e) {
          this.warn(`rtc-battery: an onCommit listener threw: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
}
