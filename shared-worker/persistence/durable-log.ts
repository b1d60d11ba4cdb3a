/**
 * Group commit: every Commit the replica emits during one tick is appended to a pending group,
 * and the group is written in ONE store transaction (one log entry per commit, increasing keys)
 * in a later macrotask; only then are its commits announced and its callers resolved. Groups are
 * written one after another, never concurrently, so the log order is the commit order.
 *
 * A group that snapshots (needed by DDL/enableSync, except a SchemaChange, which is logged as an
 * entry of its own; optional when the log passed its thresholds)
 * writes the replica's export() instead of its entries: the export, taken when the group is
 * written, covers exactly the durable state plus the group's commits.
 *
 * When a write fails, that group and the one gathering behind it (its commits ran on top of the
 * failed ones) are rejected, and onFailure tells the owner to roll memory back to what is durable.
 */
import { MacrotaskQueue } from './macrotask-queue.js';
import { encodeLogRecord, logKey } from './durable-log-record.js';
import { BatteryError, isBatteryError } from '../protocol/errors.js';
import type { KeyValueStore, KeyValueWrite } from './kv-store.js';
import type { Commit } from '../replica/contracts/replica-types.js';
import { snapshotUrgency, type LogStats, type SnapshotThresholds, type SnapshotUrgency } from './snapshot-policy.js';
import { logKeysBetween, snapshotWrite } from './snapshot-store.js';

export interface DurableLogOptions {
  store: KeyValueStore;
  nodeId: string;
  /** Where the durable log stands after start-up. */
  snapshotSeq: number;
  lastSeq: number;
  stats: LogStats;
  thresholds: SnapshotThresholds;
  /** The replica's export() and the database version it stands at. */
  exportSnapshot(): { data: Uint8Array; version: number };
  onDurable(commits: Commit[]): void;
  /** A group failed: the log is suspended until resume(); `lost` are the commits rejected with it. */
  onFailure(error: BatteryError, lost: Commit[]): void;
}

interface Group {
  commits: Commit[];
  sets: Array<[string, unknown]>;
  snapshot: boolean;
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export class DurableLog {
  private readonly tasks = new MacrotaskQueue();
  private pending: Group = newGroup();
  private inFlight: Group | null = null;
  private scheduled = false;
  private snapshotSeq: number;
  private lastSeq: number;
  private stats: LogStats;
  private suspended = false;
  private closed = false;
  /** After an optional snapshot was refused: the log size at which to try again. */
  private snapshotRetryAt: { records: number; bytes: number } | null = null;
  /** The pending "snapshot when idle" check, while one is scheduled. */
  private idleCheck: Promise<void> | null = null;

  constructor(private readonly o: DurableLogOptions) {
    this.snapshotSeq = o.snapshotSeq;
    this.lastSeq = o.lastSeq;
    this.stats = { ...o.stats };
  }

  /** Adds a commit to the group being gathered. */
  append(commit: Commit): void {
    this.pending.commits.push(commit);
    if (commit.needsSnapshot) this.pending.snapshot = true;
    this.schedule();
  }

  /** Stores a key/value in the next group's transaction; resolves when that group is durable. */
  put(key: string, value: unknown): Promise<void> {
    this.pending.sets.push([key, value]);
    this.schedule();
    return this.pending.promise;
  }

  /**
   * Resolves once everything appended so far is durable (at once when nothing is outstanding).
   * A group that only snapshots holds nothing memory has and storage lacks, so reads do not
   * wait behind it: a background snapshot of a big database takes a while to write.
   */
  barrier(): Promise<void> {
    if (carriesWrites(this.pending)) return this.pending.promise;
    if (this.inFlight && carriesWrites(this.inFlight)) return this.inFlight.promise;
    return Promise.resolve();
  }

  /** Makes the next group a snapshot (and starts one now if nothing else is pending). */
  requestSnapshot(): Promise<void> {
    this.pending.snapshot = true;
    this.schedule();
    return this.pending.promise;
  }

  /** Resolves when the next outstanding group (pending, else in flight) has been written. */
  private drained(): Promise<void> {
    if (!isEmpty(this.pending)) return this.pending.promise;
    return this.inFlight?.promise ?? Promise.resolve();
  }

  /** Lets groups be written again after the owner has rolled memory back (see onFailure). */
  resume(): void {
    this.suspended = false;
    this.schedule();
  }

  /** Writes everything outstanding, then refuses to write more. */
  async close(): Promise<void> {
    while (!isEmpty(this.pending) || this.inFlight) {
      if (this.suspended) break; // a failed group: nothing outstanding can be written any more
      await this.drained().catch(() => {});
    }
    this.closed = true; // a flush still scheduled finds the log closed and does nothing
    const left = this.pending;
    this.pending = newGroup();
    left.reject(new BatteryError('CLOSED', 'the database was closed before this write was stored'));
  }

  /** Resolves when nothing is pending, in flight or scheduled (background snapshots included). */
  async whenIdle(): Promise<void> {
    for (;;) {
      if (this.suspended || this.closed) return;
      if (this.idleCheck) await this.idleCheck;
      else if (!isEmpty(this.pending) || this.inFlight) await this.drained().catch(() => {});
      else return;
    }
  }

  /** Log size since the last snapshot (benchmarks and tests read it). */
  getStats(): LogStats & { snapshotSeq: number; lastSeq: number } {
    return { ...this.stats, snapshotSeq: this.snapshotSeq, lastSeq: this.lastSeq };
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.suspended || this.closed) return; // an in-flight group reschedules when done
    // A macrotask, not a microtask: every write of the current task (and the microtasks it
    // spawns, e.g. a burst of awaited-in-parallel calls) joins the same transaction.
    this.scheduled = true;
    this.tasks.schedule(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.suspended || this.closed || isEmpty(this.pending)) return;
    const group = this.pending;
    this.pending = newGroup();
    this.inFlight = group;
    // A snapshot no commit of the group needs (thresholds, snapshot()) is optional: if storage
    // refuses it (a full disk refuses a big write first), the group is written as log entries
    // instead, and the next try waits until the log has grown by another threshold.
    const required = group.commits.some((c) => c.needsSnapshot);
    let asSnapshot = group.snapshot;
    let commit: () => void;
    for (;;) {
      try {
        const prepared = asSnapshot ? this.snapshotBatch() : this.logBatch(group.commits);
        prepared.batch.set!.push(...group.sets);
        if (prepared.batch.set!.length > 0 || (prepared.batch.del ?? []).length > 0) await this.o.store.write(prepared.batch);
        commit = prepared.commit;
        break;
      } catch (e) {
        if (asSnapshot && !required) {
          asSnapshot = false;
          this.snapshotRetryAt = { records: this.stats.records + this.o.thresholds.records, bytes: this.stats.bytes + this.o.thresholds.bytes };
          continue;
        }
        this.fail(group, toBatteryError(e));
        return;
      }
    }
    commit();
    this.inFlight = null;
    try {
      if (group.commits.length > 0) this.o.onDurable(group.commits);
    } finally {
      group.resolve();
      this.afterWrite();
    }
  }

  /** The group's commits as log entries; `commit` moves the bookkeeping once they are stored. */
  private logBatch(commits: Commit[]): { batch: KeyValueWrite; commit: () => void } {
    const set: Array<[string, unknown]> = [];
    const stats = { ...this.stats };
    let lastSeq = this.lastSeq;
    for (const c of commits) {
      if (!c.changes && c.rows.length === 0 && !c.schemaChange) continue; // nothing a replay could redo
      const bytes = encodeLogRecord({
        seq: ++lastSeq, version: c.version, changes: c.changes, rows: c.rows,
        ...(c.schemaChange ? { schema: c.schemaChange } : {}), ...(c.signed ? { signed: c.signed } : {}),
      });
      set.push([logKey(lastSeq), bytes]);
      stats.records++;
      stats.bytes += bytes.byteLength;
    }
    return { batch: { set }, commit: () => { this.lastSeq = lastSeq; this.stats = stats; } };
  }

  /** A snapshot of the replica now, replacing every log entry since the previous one. */
  private snapshotBatch(): { batch: KeyValueWrite; commit: () => void } {
    const { data, version } = this.o.exportSnapshot();
    const batch = snapshotWrite({ snapshotSeq: this.lastSeq, snapshotBytes: data.byteLength, nodeId: this.o.nodeId, version }, data,
      logKeysBetween(this.snapshotSeq + 1, this.lastSeq));
    return {
      batch,
      commit: () => {
        this.snapshotSeq = this.lastSeq;
        this.stats = { records: 0, bytes: 0, snapshotBytes: data.byteLength };
        this.snapshotRetryAt = null;
      },
    };
  }

  /** The group and the one gathering behind it (its commits ran on top) are refused. */
  private fail(group: Group, error: BatteryError): void {
    this.inFlight = null;
    const behind = this.pending;
    this.pending = newGroup();
    this.suspended = true;
    group.reject(error);
    behind.reject(error);
    this.o.onFailure(error, [...group.commits, ...behind.commits]);
  }

  private snapshotDue(): SnapshotUrgency {
    const retry = this.snapshotRetryAt;
    if (retry && this.stats.records < retry.records && this.stats.bytes < retry.bytes) return 'none';
    return snapshotUrgency(this.stats, this.o.thresholds);
  }

  private afterWrite(): void {
    if (!isEmpty(this.pending)) this.schedule();
    if (this.closed) return;
    const urgency = this.snapshotDue();
    if (urgency === 'now') {
      void this.requestSnapshot();
    } else if (urgency === 'when-idle' && !this.idleCheck) {
      this.idleCheck = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => {
        this.idleCheck = null;
        const idle = !this.inFlight && !this.suspended && !this.closed && isEmpty(this.pending);
        if (idle && this.snapshotDue() !== 'none') return this.requestSnapshot();
        return undefined;
      }).catch(() => {});
    }
  }
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  // A group nobody waits on (a background snapshot) must not surface as an unhandled rejection;
  // callers that do wait still see the rejection through `promise`.
  promise.catch(() => {});
  return { commits: [], sets: [], snapshot: false, promise, resolve, reject };
}

function carriesWrites(g: Group): boolean {
  return g.commits.length > 0 || g.sets.length > 0;
}

function isEmpty(g: Group): boolean {
  return g.commits.length === 0 && g.sets.length === 0 && !g.snapshot;
}

function toBatteryError(e: unknown): BatteryError {
  if (isBatteryError(e)) return e;
  return new BatteryError('WORKER', `storage write failed: ${e instanceof Error ? e.message : String(e)}`);
}
