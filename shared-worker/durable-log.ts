/**
 * Group commit: every Commit the replica emits during one tick is appended to a pending group,
 * and the group is written in ONE store transaction (one log entry per commit, increasing keys)
 * in a later macrotask; only then are its commits announced and its callers resolved. Groups are
 * written one after another, never concurrently, so the log order is the commit order.
 *
 * A group that must snapshot (DDL, enableSync, or a log grown past its thresholds) writes the
 * replica's export() instead of its entries: the export, taken when the group is written, covers
 * exactly the durable state plus the group's commits.
 *
 * When a write fails, that group and the one gathering behind it (its commits ran on top of the
 * failed ones) are rejected, and onFailure tells the owner to roll memory back to what is durable.
 */
import { encodeLogRecord, logKey } from './durable-log-record.js';
import { BatteryError, isBatteryError } from './errors.js';
import type { KeyValueStore, KeyValueWrite } from './kv-store.js';
import type { Commit } from './replica-types.js';
import { snapshotUrgency, type LogStats, type SnapshotThresholds } from './snapshot-policy.js';
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
  private pending: Group = newGroup();
  private inFlight: Group | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private snapshotSeq: number;
  private lastSeq: number;
  private stats: LogStats;
  private suspended = false;
  private closed = false;
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

  /** Resolves once everything appended so far is durable (at once when nothing is outstanding). */
  barrier(): Promise<void> {
    if (!isEmpty(this.pending)) return this.pending.promise;
    return this.inFlight?.promise ?? Promise.resolve();
  }

  /** Makes the next group a snapshot (and starts one now if nothing else is pending). */
  requestSnapshot(): Promise<void> {
    this.pending.snapshot = true;
    this.schedule();
    return this.pending.promise;
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
      await this.barrier().catch(() => {});
    }
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const left = this.pending;
    this.pending = newGroup();
    left.reject(new BatteryError('CLOSED', 'the database was closed before this write was stored'));
  }

  /** Resolves when nothing is pending, in flight or scheduled (background snapshots included). */
  async whenIdle(): Promise<void> {
    for (;;) {
      if (this.suspended || this.closed) return;
      if (this.idleCheck) await this.idleCheck;
      else if (!isEmpty(this.pending) || this.inFlight) await this.barrier().catch(() => {});
      else return;
    }
  }

  /** Log size since the last snapshot (benchmarks and tests read it). */
  getStats(): LogStats & { snapshotSeq: number; lastSeq: number } {
    return { ...this.stats, snapshotSeq: this.snapshotSeq, lastSeq: this.lastSeq };
  }

  private schedule(): void {
    if (this.timer !== null || this.inFlight || this.suspended || this.closed) return; // an in-flight group reschedules when done
    // A macrotask, not a microtask: every write of the current task (and the microtasks it
    // spawns, e.g. a burst of awaited-in-parallel calls) joins the same transaction.
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, 0);
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.suspended || this.closed || isEmpty(this.pending)) return;
    const group = this.pending;
    this.pending = newGroup();
    this.inFlight = group;
    let batch: KeyValueWrite;
    let nextStats: LogStats;
    let nextSnapshotSeq = this.snapshotSeq;
    let nextLastSeq = this.lastSeq;
    try {
      if (group.snapshot) {
        const { data, version } = this.o.exportSnapshot();
        batch = snapshotWrite({ snapshotSeq: this.lastSeq, snapshotBytes: data.byteLength, nodeId: this.o.nodeId, version }, data,
          logKeysBetween(this.snapshotSeq + 1, this.lastSeq));
        nextSnapshotSeq = this.lastSeq;
        nextStats = { records: 0, bytes: 0, snapshotBytes: data.byteLength };
      } else {
        batch = { set: [] };
        nextStats = { ...this.stats };
        for (const c of group.commits) {
          if (!c.changes && c.rows.length === 0) continue; // nothing a replay could redo
          const bytes = encodeLogRecord({ seq: ++nextLastSeq, version: c.version, changes: c.changes, rows: c.rows });
          batch.set!.push([logKey(nextLastSeq), bytes]);
          nextStats.records++;
          nextStats.bytes += bytes.byteLength;
        }
      }
      batch.set!.push(...group.sets);
      await this.o.store.write(batch);
    } catch (e) {
      this.inFlight = null;
      const error = toBatteryError(e);
      const behind = this.pending;
      this.pending = newGroup();
      this.suspended = true;
      group.reject(error);
      behind.reject(error);
      this.o.onFailure(error, [...group.commits, ...behind.commits]);
      return;
    }
    this.snapshotSeq = nextSnapshotSeq;
    this.lastSeq = nextLastSeq;
    this.stats = nextStats;
    this.inFlight = null;
    try {
      if (group.commits.length > 0) this.o.onDurable(group.commits);
    } finally {
      group.resolve();
      this.afterWrite();
    }
  }

  private afterWrite(): void {
    if (!isEmpty(this.pending)) this.schedule();
    if (this.closed) return;
    const urgency = snapshotUrgency(this.stats, this.o.thresholds);
    if (urgency === 'now') {
      void this.requestSnapshot();
    } else if (urgency === 'when-idle' && !this.idleCheck) {
      this.idleCheck = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => {
        this.idleCheck = null;
        const idle = !this.inFlight && !this.suspended && !this.closed && isEmpty(this.pending);
        if (idle && snapshotUrgency(this.stats, this.o.thresholds) !== 'none') return this.requestSnapshot();
        return undefined;
      }).catch(() => {}); // a failed snapshot is handled like any failed group (onFailure)
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

function isEmpty(g: Group): boolean {
  return g.commits.length === 0 && g.sets.length === 0 && !g.snapshot;
}

function toBatteryError(e: unknown): BatteryError {
  if (isBatteryError(e)) return e;
  return new BatteryError('WORKER', `storage write failed: ${e instanceof Error ? e.message : String(e)}`);
}
