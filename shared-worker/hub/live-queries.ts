/**
 * Live queries (`Battery.watch`): each watch remembers the tables its statement reads (see
 * read-tables.ts) and its last result. After commits, only watches that read a changed table
 * are re-run, and a tab gets rows only when they differ from what it has. Commits of one tick
 * are coalesced into one re-run. A pass started only by changes merged from peers (marked
 * `inMemory`, before they are stored) reads memory at once (`runNow`); any other pass reads
 * through `run`, which answers once what memory holds is stored. A schema change (DDL) re-resolves every watch's tables, since
 * root pages and even the meaning of a name can change.
 */
import { serializeError } from '../protocol/errors.js';
import type { ExecResult, SqlParams, SqlValue } from '../replica/contracts/replica-types.js';
import { tablesRead, type RunSql } from './read-tables.js';
import type { WorkerToTab } from '../protocol/worker-protocol.js';

interface Watch {
  tabId: string;
  watchId: string;
  sql: string;
  params: SqlParams | undefined;
  /** null until the first resolution finished: any change marks it dirty meanwhile. */
  tables: Set<string> | null;
  last: ExecResult | null;
  dirtyDuringSetup: boolean;
}

export type PushToTab = (tabId: string, message: WorkerToTab) => void;

function valueEqual(a: SqlValue, b: SqlValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return Object.is(a, b);
}

function resultsEqual(a: ExecResult, b: ExecResult): boolean {
  if (a.columns.length !== b.columns.length || a.rows.length !== b.rows.length) return false;
  if (a.columns.some((c, i) => c !== b.columns[i])) return false;
  for (let r = 0; r < a.rows.length; r++) {
    const x = a.rows[r]!;
    const y = b.rows[r]!;
    for (const c of a.columns) if (!valueEqual(x[c] ?? null, y[c] ?? null)) return false;
  }
  return true;
}

export class LiveQueries {
  private readonly watches = new Map<string, Watch>();
  private dirtyTables = new Set<string>();
  private dirtyAll = false;
  /** A durable commit marked tables since the last pass began: read through `run`. */
  private dirtyDurable = false;
  private running: Promise<void> | null = null;
  /** How many times a watch statement was re-run after a change (for tests and benches). */
  reruns = 0;

  constructor(private readonly run: RunSql, private readonly push: PushToTab, private readonly runNow?: RunSql) {}

  private key(tabId: string, watchId: string): string {
    return `${tabId}\u0000${watchId}`;
  }

  get size(): number {
    return this.watches.size;
  }

  /** The tables each watch reads, as resolved so far (sorted; empty until resolved). */
  watchedTables(): Array<{ tabId: string; watchId: string; tables: string[] }> {
    return [...this.watches.values()].map((w) => ({ tabId: w.tabId, watchId: w.watchId, tables: [...(w.tables ?? [])].sort() }));
  }

  /** Registers a watch and returns its first result; rejects (and forgets it) if the SQL is not a valid read. */
  async add(tabId: string, watchId: string, sql: string, params?: SqlParams): Promise<ExecResult> {
    const key = this.key(tabId, watchId);
    const w: Watch = { tabId, watchId, sql, params, tables: null, last: null, dirtyDuringSetup: false };
    this.watches.set(key, w);
    try {
      const tables = await tablesRead(this.run, sql, params);
      const result = await this.run(sql, params);
      w.tables = new Set(tables);
      w.last = result;
      if (w.dirtyDuringSetup) this.markDirty([...tables], false);
      return result;
    } catch (e) {
      if (this.watches.get(key) === w) this.watches.delete(key);
      throw e;
    }
  }

  remove(tabId: string, watchId: string): void {
    this.watches.delete(this.key(tabId, watchId));
  }

  removeTab(tabId: string): void {
    for (const [k, w] of this.watches) if (w.tabId === tabId) this.watches.delete(k);
  }

  /** Called on every commit (`inMemory`: a peer's change not yet stored); re-runs the affected watches soon. */
  markDirty(tables: string[], schemaChanged: boolean, inMemory = false): void {
    for (const w of this.watches.values()) if (w.tables === null) w.dirtyDuringSetup = true;
    if (!inMemory) this.dirtyDurable = true;
    if (schemaChanged) this.dirtyAll = true;
    for (const t of tables) this.dirtyTables.add(t);
    this.running ??= this.loop();
  }

  /** Resolves when no re-run is pending (tests; close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    try {
      // One macrotask-free yield: commits acknowledged in the same tick land in one pass.
      await Promise.resolve();
      while (this.dirtyAll || this.dirtyTables.size > 0) {
        const all = this.dirtyAll;
        const tables = this.dirtyTables;
        const run = this.dirtyDurable || !this.runNow ? this.run : this.runNow;
        this.dirtyAll = false;
        this.dirtyDurable = false;
        this.dirtyTables = new Set();
        for (const w of [...this.watches.values()]) {
          if (w.tables === null) continue;
          const hit = all || [...w.tables].some((t) => tables.has(t));
          if (hit) await this.rerun(w, all, run);
        }
      }
    } finally {
      this.running = null;
    }
  }

  private async rerun(w: Watch, resolveTables: boolean, run: RunSql): Promise<void> {
    const key = this.key(w.tabId, w.watchId);
    try {
      if (resolveTables) w.tables = new Set(await tablesRead(run, w.sql, w.params));
      this.reruns++;
      const result = await run(w.sql, w.params);
      if (this.watches.get(key) !== w) return;
      if (w.last !== null && resultsEqual(w.last, result)) return;
      w.last = result;
      this.push(w.tabId, { kind: 'watch-rows', watchId: w.watchId, result });
    } catch (e) {
      // e.g. a table the watch reads was dropped: tell the tab, keep the watch (it may come back).
      if (this.watches.get(key) !== w) return;
      w.last = null;
      this.push(w.tabId, { kind: 'watch-error', watchId: w.watchId, error: serializeError(e) });
    }
  }
}
