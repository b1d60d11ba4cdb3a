/**
 * A DurableReplica stand-in on plain sql.js for hub tests: real SQL (so EXPLAIN-based table
 * detection runs against SQLite), commits reported through sql.js's update hook, and a storage
 * acknowledgement one macrotask after the write (as IndexedDB would). No CRDT.
 */
import initSqlJs, { type Database } from 'sql.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import type { VersionVector } from '../../../../shared-worker/replica/contracts/version-vector.js';
import type {
  ApplyResult, Commit, DurableReplica, ExecResult, SqlParams, SqlValue,
} from '../../../../shared-worker/replica/contracts/replica-types.js';

export const FAKE_NODE_ID = '0123456789abcdef';

export class FakeDurableReplica implements DurableReplica {
  private stalled = false;
  readonly nodeId = FAKE_NODE_ID;
  private version = 0;
  private readonly listeners: Array<(c: Commit) => void> = [];
  private readonly peerVectors = new Map<string, VersionVector>();
  private readonly records = new Map<string, unknown>();
  closed = false;
  /** Every statement run, in order (to check request ordering and watch re-runs). */
  readonly log: string[] = [];

  private constructor(private readonly db: Database) {}

  static async open(): Promise<FakeDurableReplica> {
    const SQL = await initSqlJs();
    return new FakeDurableReplica(new SQL.Database());
  }

  private run(sql: string, params: SqlParams | undefined, origin: Commit['origin']): Promise<ExecResult> {
    this.log.push(sql);
    const tables = new Set<string>();
    const schemaBefore = this.db.exec('PRAGMA schema_version')[0]!.values[0]![0];
    this.db.updateHook((_op, _db, table) => {
      tables.add(table);
    });
    let out;
    try {
      out = this.db.exec(sql, params as never);
    } catch (e) {
      return Promise.reject(e);
    } finally {
      this.db.updateHook(null);
    }
    const schemaChanged = this.db.exec('PRAGMA schema_version')[0]!.values[0]![0] !== schemaBefore;
    const last = out[out.length - 1];
    const result: ExecResult = last
      ? { columns: last.columns, rows: last.values.map((v) => Object.fromEntries(last.columns.map((c, i) => [c, v[i] as SqlValue]))) }
      : { columns: [], rows: [] };
    if (tables.size === 0 && !schemaChanged) return Promise.resolve(result);
    this.version++;
    const commit: Commit = {
      origin, tables: [...tables].sort(), changes: null, rows: [], needsSnapshot: schemaChanged, version: this.version,
    };
    return new Promise((resolve) => setImmediate(() => {
      for (const l of this.listeners) l(commit);
      resolve(result);
    }));
  }

  exec(sql: string, params?: SqlParams): Promise<ExecResult> {
    if (this.stalled) return new Promise<never>(() => {});
    return this.run(sql, params, 'local');
  }

  /** From now on exec() never settles: a worker whose writes hang. */
  stallWrites(): void {
    this.stalled = true;
  }

  execLocal(sql: string, params?: SqlParams): Promise<ExecResult> {
    return this.run(sql, params, 'local');
  }

  /** What a merged peer batch looks like to the hub: a commit with origin 'remote'. */
  async execRemote(sql: string): Promise<void> {
    await this.run(sql, undefined, 'remote');
  }

  async enableSync(): Promise<void> {}

  async applyChanges(): Promise<ApplyResult> {
    return { applied: 0, changes: null, tables: [] };
  }

  readonly identity = null;

  signedSince(): [] {
    return [];
  }

  isKnownAuthor(): boolean {
    return false;
  }

  changesSince(): ChangeSet {
    return { nodes: [], tables: [] };
  }

  getVector(): VersionVector {
    return this.version ? { [this.nodeId]: this.version * 1000 } : {};
  }

  getVersion(): number {
    return this.version;
  }

  schemaVersion = 0;
  async migrate(steps: readonly string[]): Promise<{ from: number; to: number }> {
    const from = this.schemaVersion;
    this.schemaVersion = Math.max(from, steps.length);
    return { from, to: this.schemaVersion };
  }
  getSchemaVersion(): number {
    return this.schemaVersion;
  }
  fingerprints(): Record<string, string> {
    return {};
  }

  syncedTables(): string[] {
    return [];
  }

  onCommit(listener: (commit: Commit) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  getPeerVector(peer: string): VersionVector | undefined {
    return this.peerVectors.get(peer);
  }

  async getRecord(key: string): Promise<unknown> {
    return this.records.get(key);
  }

  async putRecords(entries: ReadonlyArray<readonly [key: string, value: unknown]>): Promise<void> {
    for (const [key, value] of entries) this.records.set(key, value);
  }

  async setPeerVector(peer: string, v: VersionVector): Promise<void> {
    this.peerVectors.set(peer, v);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.db.close();
  }
}
