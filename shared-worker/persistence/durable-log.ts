/**
 * Group commit: every Commit the replica emits during one tick is appended to a pending group,
 * and the group is written in ONE store transaction (one log entry per commit, increasing keys)
 * in a later macrotask; only then are its commits announced and its callers resolved. Groups are
 * written one after another, never concurrently, so the log order is the commit order.
 *
 * A group that snapshots (needed by DDL/enableSync, except a SchemaChange, which is logged as an
 * entry of its own; or asked for by snapshot()) writes the replica's export() instead of its entries: the export, taken when the group is written, covers
 * exactly the durable state plus the group's commits.
 *
 * When the log passes its thresholds, the snapshot is taken in the background instead, so that
 * no write waits for an O(database) copy (BackgroundSnapshot below): the file is copied a few
 * pages per macrotask (Replica.exportInSlices, consistent as of the step that completes it),
 * stored in pieces, one piece per macrotask, and once every commit in the copy is durable, the
 * switch to it (snapshot-store.ts, format 2) rides with the next group's transaction.
 *
 * When a write fails, that group and the one gathering behind it (its commits ran on top of the
 * failed ones) are rejected, and onFailure tells the owner to roll memory back to what is durable.
 */
import { MacrotaskQueue } from './macrotask-queue.js';
import { encodeLogRecord, logKey } from './durable-log-record.js';
import { BatteryError, isBatteryError } from '../protocol/errors.js';
import type { KeyValueStore, KeyValueWrite } from './kv-store.js';
import type { Commit, ExportCursor } from '../replica/contracts/replica-types.js';
import { snapshotUrgency, type LogStats, type SnapshotThresholds, type SnapshotUrgency } from './snapshot-policy.js';
import { logKeysBetween, pieceCount, pieceKey, pieceOf, piecesInstallWrite, snapshotWrite } from './snapshot-store.js';

/**
 * Pages copied per macrotask by a background snapshot: ~1-3 ms of a loaded 2-core box per step
 * (a 50 MB file took ~0.3-0.5 s in steps of 128 pages), so a write waits at most about that long.
 */
const PAGES_PER_STEP = 128;

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
  /** The replica's exportInSlices() (background snapshots) and its current version. */
  exportInSlices(): ExportCursor;
  version(): number;
  /** Keys of the current snapshot's pieces (format 2; empty for format 1). */
  pieces: string[];
  /** Encoded size of each log entry after the snapshot, in order. */
  entrySizes: number[];
  onDurable(commits: Commit[]): void;
  /** A group failed: the log is suspended until resume(); `lost` are the commits rejected with it. */
  onFailure(error: BatteryError, lost: Commit[]): void;
}

/** A background snapshot whose pieces are stored, waiting to become current with a group. */
interface Install {
  pieces: string[];
  /** Last log entry the pieces cover. */
  coveredSeq: number;
  bytes: number;
  version: number;
}

interface Group {
  commits: Commit[];
  sets: Array<[string, unknown]>;
  snapshot: boolean;
  install: Install | null;
  /** Pieces to delete with this group (of a background snapshot that was given up). */
  dels: string[];
  /** Once this group is stored: the log's last seq after each of its commits, in order. */
  seqAt: number[];
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
  private closing = false;
  /** After an optional snapshot was refused: the log size at which to try again. */
  private snapshotRetryAt: { records: number; bytes: number } | null = null;
  /** The background snapshot under way, if any. */
  private background: BackgroundSnapshot | null = null;
  private pieces: string[];
  /** Encoded size of log entries snapshotSeq+1..lastSeq. */
  private entrySizes: number[];

  constructor(private readonly o: DurableLogOptions) {
    this.snapshotSeq = o.snapshotSeq;
    this.lastSeq = o.lastSeq;
    this.stats = { ...o.stats };
    this.pieces = [...o.pieces];
    this.entrySizes = [...o.entrySizes];
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
   * Deletes a key with the next group. A put of it queued in that same group is dropped: stores
   * apply a write's deletes before its sets (idb-kv-store.ts), which would bring the key back.
   */
  remove(key: string): void {
    const sets = this.pending.sets;
    for (let i = sets.length - 1; i >= 0; i--) if (sets[i]![0] === key) sets.splice(i, 1);
    this.pending.dels.push(key);
    this.schedule();
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
    this.closing = true; // no background snapshot starts while the last groups are written
    await this.stopBackground();
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
      if (this.background) await this.background.done;
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
    if (group.install && (asSnapshot || group.install.coveredSeq <= this.snapshotSeq)) {
      // This group's own snapshot, or one stored since the copy was made, is at least as new as
      // the background one, whose pieces go.
      group.dels.push(...group.install.pieces);
      group.install = null;
    }
    let commit: () => void;
    for (;;) {
      try {
        const prepared = asSnapshot ? this.snapshotBatch() : this.logBatch(group.commits, group.install, group.seqAt);
        prepared.batch.set!.push(...group.sets);
        if (group.dels.length > 0) prepared.batch.del = [...(prepared.batch.del ?? []), ...group.dels];
        if (prepared.batch.set!.length > 0 || (prepared.batch.del ?? []).length > 0) await this.o.store.write(prepared.batch);
        commit = prepared.commit;
        break;
      } catch (e) {
        if (group.install) {
          // The switch is optional: the group is retried as log entries only, and the pieces go
          // (they are orphans now; a later snapshot starts from scratch).
          group.dels.push(...group.install.pieces);
          group.install = null;
          this.deferSnapshotRetry();
          continue;
        }
        if (asSnapshot && !required) {
          asSnapshot = false;
          this.deferSnapshotRetry();
          continue;
        }
        this.fail(group, toBatteryError(e));
        return;
      }
    }
    commit();
    if (asSnapshot) void this.stopBackground(); // its copy would now replace a newer snapshot
    this.inFlight = null;
    try {
      if (group.commits.length > 0) this.o.onDurable(group.commits);
    } finally {
      group.resolve();
      this.afterWrite();
    }
  }

  /**
   * The group's commits as log entries, plus the switch to a background snapshot when one is
   * ready; `commit` moves the bookkeeping once they are stored.
   */
  private logBatch(commits: Commit[], install: Install | null, seqAt: number[]): { batch: KeyValueWrite; commit: () => void } {
    const set: Array<[string, unknown]> = [];
    const sizes: number[] = [];
    let lastSeq = this.lastSeq;
    seqAt.length = 0;
    for (const c of commits) {
      // Nothing a replay could redo: no entry.
      if (c.changes || c.rows.length > 0 || c.schemaChange || c.parked) {
        const bytes = encodeLogRecord({
          seq: ++lastSeq, version: c.version, changes: c.changes, rows: c.rows,
          ...(c.schemaChange ? { schema: c.schemaChange } : {}), ...(c.signed ? { signed: c.signed } : {}),
          ...(c.vectorCeiling ? { vectorCeiling: c.vectorCeiling } : {}), ...(c.parked ? { parked: c.parked } : {}),
        });
        set.push([logKey(lastSeq), bytes]);
        sizes.push(bytes.byteLength);
      }
      seqAt.push(lastSeq);
    }
    let batch: KeyValueWrite = { set };
    if (install) {
      const { coveredSeq, bytes, version, pieces } = install;
      batch = piecesInstallWrite({ snapshotSeq: coveredSeq, snapshotBytes: bytes, nodeId: this.o.nodeId, version }, pieces,
        [...logKeysBetween(this.snapshotSeq + 1, coveredSeq), ...this.pieces]);
      batch.set!.push(...set);
    }
    return {
      batch,
      commit: () => {
        this.lastSeq = lastSeq;
        this.entrySizes.push(...sizes);
        if (install) {
          this.entrySizes = this.entrySizes.slice(install.coveredSeq - this.snapshotSeq);
          this.snapshotSeq = install.coveredSeq;
          this.pieces = install.pieces;
          this.snapshotRetryAt = null;
        }
        this.stats = {
          records: this.entrySizes.length,
          bytes: this.entrySizes.reduce((a, b) => a + b, 0),
          snapshotBytes: install ? install.bytes : this.stats.snapshotBytes,
        };
      },
    };
  }

  /** A snapshot of the replica now, replacing every log entry since the previous one. */
  private snapshotBatch(): { batch: KeyValueWrite; commit: () => void } {
    const { data, version } = this.o.exportSnapshot();
    const batch = snapshotWrite({ snapshotSeq: this.lastSeq, snapshotBytes: data.byteLength, nodeId: this.o.nodeId, version }, data,
      [...logKeysBetween(this.snapshotSeq + 1, this.lastSeq), ...this.pieces]);
    return {
      batch,
      commit: () => {
        this.snapshotSeq = this.lastSeq;
        this.pieces = [];
        this.entrySizes = [];
        this.stats = { records: 0, bytes: 0, snapshotBytes: data.byteLength };
        this.snapshotRetryAt = null;
      },
    };
  }

  /** The group and the one gathering behind it (its commits ran on top) are refused. */
  private fail(group: Group, error: BatteryError): void {
    // Memory is about to be rolled back: a copy in progress may hold the refused commits.
    void this.stopBackground();
    this.inFlight = null;
    const behind = this.pending;
    this.pending = newGroup();
    // Pieces that these groups would have made current or deleted: deleted with the next group.
    for (const g of [group, behind]) this.pending.dels.push(...g.dels, ...(g.install?.pieces ?? []));
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
    // One background snapshot at a time, also while the switch to the last one is not stored yet.
    if (this.closed || this.closing || this.suspended || this.background || this.pending.snapshot || this.pending.install || this.inFlight?.install) return;
    // Either urgency: a background snapshot holds no write back, so there is no idle moment to wait for.
    if (this.snapshotDue() !== 'none') this.background = new BackgroundSnapshot(this);
  }

  /** Gives up the background snapshot under way (its stored pieces go with the next group). */
  private async stopBackground(): Promise<void> {
    const bg = this.background;
    if (!bg) return;
    bg.stop();
    await bg.done;
  }

  // ---- what BackgroundSnapshot uses ----

  /** @internal */
  bgContext(): { o: DurableLogOptions; snapshotSeq: number; lastSeq: number } {
    return { o: this.o, snapshotSeq: this.snapshotSeq, lastSeq: this.lastSeq };
  }

  /**
   * @internal The group whose storage makes every commit appended so far durable, or null when
   * they all are.
   */
  bgLastGroup(): Group | null {
    if (this.pending.commits.length > 0) return this.pending;
    if (this.inFlight && this.inFlight.commits.length > 0) return this.inFlight;
    return null;
  }

  /**
   * @internal A generation no stored piece uses: never the current snapshot's (its pieces must
   * stay intact until the switch) and, with time and randomness, not an orphan's either.
   */
  bgNewGeneration(): string {
    for (;;) {
      const gen = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      if (!this.pieces.some((k) => k === pieceKey(gen, 0))) return gen;
    }
  }

  /** @internal The snapshot's pieces are stored: the next group makes it current. */
  bgReady(install: Install): void {
    this.pending.install = install;
    this.schedule();
  }

  /** A snapshot that failed is tried again only after another threshold's worth of log. */
  private deferSnapshotRetry(): void {
    this.snapshotRetryAt = { records: this.stats.records + this.o.thresholds.records, bytes: this.stats.bytes + this.o.thresholds.bytes };
  }

  /** @internal It ended (done, given up or failed); `orphans`: its stored pieces no meta will name. */
  bgEnded(bg: BackgroundSnapshot, orphans: string[], failed: boolean): void {
    if (this.background === bg) this.background = null;
    if (failed) this.deferSnapshotRetry();
    if (orphans.length > 0 && !this.closed) {
      this.pending.dels.push(...orphans);
      this.schedule();
    }
  }
}

/**
 * One background snapshot: copy (a few pages per macrotask), store the pieces (one per
 * macrotask, each its own transaction, under a new generation so the current snapshot stays
 * intact), wait until every commit in the copy is durable, then hand the switch to the log.
 */
class BackgroundSnapshot {
  readonly done: Promise<void>;
  private stopped = false;
  private cursor: ExportCursor | null = null;

  constructor(private readonly log: DurableLog) {
    this.done = this.run();
  }

  stop(): void {
    this.stopped = true;
    this.cursor?.abort();
  }

  /**
   * A timer, not the log's MessageChannel queue: in Node a chain of port messages can run ahead
   * of timers and I/O callbacks (the memory store's and fake-indexeddb's completions), and a
   * browser may favour it over IndexedDB events likewise; the copy must stay behind the writes.
   * (Nested timers are clamped to 4 ms: the copy takes longer, no write waits more.)
   */
  private tick(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }

  private async run(): Promise<void> {
    const stored: string[] = [];
    let failed = false;
    let handed = false;
    try {
      await this.tick();
      if (this.stopped) return;
      const { o } = this.log.bgContext();
      this.cursor = o.exportInSlices();
      while (!this.cursor.step(PAGES_PER_STEP)) {
        await this.tick();
        if (this.stopped) return;
      }
      // The copy holds every commit appended until now, durable or not yet.
      const file = this.cursor.result();
      const version = o.version();
      // The pending group goes on gathering commits the copy lacks: remember how many it holds now.
      const last = this.log.bgLastGroup();
      const inCopy = last?.commits.length ?? 0;
      const seqNow = this.log.bgContext().lastSeq;
      const gen = this.log.bgNewGeneration();
      const pieces: string[] = [];
      for (let i = 0; i < pieceCount(file.byteLength); i++) {
        await this.tick();
        if (this.stopped) return;
        const key = pieceKey(gen, i);
        stored.push(key);
        await o.store.write({ set: [[key, pieceOf(file, i)]] });
        pieces.push(key);
      }
      // Commits in the copy that were not stored yet: the snapshot may cover them only once they are.
      if (last) await last.promise;
      if (this.stopped) return;
      const coveredSeq = last ? last.seqAt[inCopy - 1]! : seqNow;
      // A newer snapshot was stored meanwhile (that group wrote a snapshot, no entries), or will be.
      if (coveredSeq === undefined || coveredSeq < this.log.bgContext().snapshotSeq) return;
      this.log.bgReady({ pieces, coveredSeq, bytes: file.byteLength, version });
      handed = true; // the group that switches to them owns them now
    } catch {
      failed = true; // a refused piece (a full disk): the current snapshot stays, tried again later
    } finally {
      this.cursor?.abort();
      this.log.bgEnded(this, handed ? [] : stored, failed);
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
  return { commits: [], sets: [], snapshot: false, install: null, dels: [], seqAt: [], promise, resolve, reject };
}

function carriesWrites(g: Group): boolean {
  return g.commits.length > 0 || g.sets.length > 0;
}

function isEmpty(g: Group): boolean {
  return g.commits.length === 0 && g.sets.length === 0 && !g.snapshot && !g.install && g.dels.length === 0;
}

function toBatteryError(e: unknown): BatteryError {
  if (isBatteryError(e)) return e;
  return new BatteryError('WORKER', `storage write failed: ${e instanceof Error ? e.message : String(e)}`);
}
