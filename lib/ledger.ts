/**
 * The Ledger facade: the API of the Ledger API (README "Ledger") over connectBattery(), option for
 * option, method for method, event for event, plus the rest of the Battery handle (watch,
 * execLocal, isLeader, getLocalVersion and the change/leader/error events).
 *
 * Differences from a Battery, all deliberate:
 * - the constructor only checks the config; `init()` opens the replica (connectBattery), so the
 *   object can be created at module load and initialised later, as in the README;
 * - listeners may be added before `init()` and survive it (they are kept here and fed by the
 *   handle), so no early event is lost to ordering;
 * - any other call before `init()` (or after `close()`) fails with a BatteryError saying so,
 *   instead of a TypeError on an undefined handle.
 */
import { BatteryError } from '../shared-worker/protocol/errors.js';
import type { ExecResult, SqlParams, SqlRow } from '../shared-worker/protocol/values.js';
import type { MailboxSyncState, PeerSyncState } from '../shared-worker/protocol/worker-protocol.js';
import type { Battery, BatteryEvent, BatteryEvents } from './battery.js';
import { resolveOptions, type BatteryOptions } from './battery-options.js';
import { connectBattery } from './connect-battery.js';
import { Emitter, type Listener } from './emitter.js';
import type { WatchCallback } from './watch-set.js';

/**
 * The README's four options (dbName default 'ledger-default', signalingUrl, token, iceServers)
 * and every other connectBattery option (workerUrl, wasmUrl, mode, durability, ...).
 */
export type LedgerConfig = BatteryOptions;

export type LedgerEvent = BatteryEvent;
export type LedgerEvents = BatteryEvents;

/** @internal The seam the Node tests replace; browsers always get connectBattery. */
export type ConnectFn = (options?: BatteryOptions) => Promise<Battery>;

const EVENTS: readonly BatteryEvent[] = [
  'sync', 'sync-state', 'sync-progress', 'caught-up', 'peer-join', 'peer-ready', 'peer-leave', 'connected', 'disconnected',
  'reconnecting', 'reconnected', 'change', 'leader', 'error', 'mailbox', 'mailbox-progress',
];

type Phase = 'new' | 'initializing' | 'ready' | 'closed';

export class Ledger {
  private readonly config: LedgerConfig;
  private readonly events = new Emitter<BatteryEvents>();
  private battery: Battery | null = null;
  private initializing: Promise<void> | null = null;
  private phase: Phase = 'new';

  constructor(config: LedgerConfig = {}, /** @internal */ private readonly connectFn: ConnectFn = connectBattery) {
    // Same checks connectBattery makes, now, so a typo fails at `new Ledger` and not at init().
    // The URL defaults only matter inside connectBattery; placeholders keep this check pure.
    resolveOptions(config, { workerUrl: () => 'unused:', wasmUrl: () => 'unused:' });
    this.config = { ...config };
  }

  /** Opens (or joins, from another tab) the replica of `dbName`. Idempotent; concurrent calls share one attempt. */
  init(): Promise<void> {
    if (this.phase === 'closed') return Promise.reject(closedError('init'));
    if (this.phase === 'ready') return Promise.resolve();
    if (this.initializing) return this.initializing;
    this.phase = 'initializing';
    this.initializing = this.open().finally(() => {
      this.initializing = null;
    });
    return this.initializing;
  }

  /** Joins the room of `token` through the PeerServer at `url` (defaults: the config's signalingUrl and token). */
  connect(url?: string, token?: string): Promise<void> {
    return this.call('connect', (b) => b.connect(url, token));
  }

  /** Leaves the room; the local database stays open and usable. */
  disconnect(): Promise<void> {
    return this.call('disconnect', (b) => b.disconnect());
  }

  /** Leaves the replica (other tabs keep it) and drops every listener. Safe to call twice or before init(). */
  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    const pending = this.initializing;
    this.phase = 'closed';
    if (pending) await pending.catch(() => {});
    const battery = this.battery;
    this.battery = null;
    this.events.clear();
    await battery?.close();
  }

  /** Runs SQL with change capture; `{columns, rows}` with rows keyed by column name. */
  exec<Row extends object = SqlRow>(sql: string, params?: SqlParams): Promise<ExecResult<Row>> {
    return this.call('exec', (b) => b.exec<Row>(sql, params));
  }

  /** Runs SQL without change capture (local-only tables); refuses writes to synced tables. */
  execLocal<Row extends object = SqlRow>(sql: string, params?: SqlParams): Promise<ExecResult<Row>> {
    return this.call('execLocal', (b) => b.execLocal<Row>(sql, params));
  }

  /** Turns on CRDT sync for a table (call after CREATE TABLE); refuses tables that cannot merge safely. */
  enableSync(tableName: string): Promise<void> {
    return this.call('enableSync', (b) => b.enableSync(tableName));
  }

  /** Live query; see Battery.watch. Returns the unsubscribe function. */
  watch<Row extends object = SqlRow>(
    sql: string, params: SqlParams | undefined | null, callback: WatchCallback<Row>, onError?: (e: BatteryError) => void,
  ): () => void {
    return this.ready('watch').watch<Row>(sql, params, callback, onError);
  }

  getNodeId(): string {
    return this.ready('getNodeId').getNodeId();
  }

  /** A counter that grows with every change the replica takes in, local or merged. */
  getVersion(): number {
    return this.ready('getVersion').getVersion();
  }

  /** Migration steps applied to the replica (the `migrations` config option). */
  getSchemaVersion(): number {
    return this.ready('getSchemaVersion').getSchemaVersion();
  }

  /** The clock of this replica's newest own change (0 before any). */
  getLocalVersion(): number {
    return this.ready('getLocalVersion').getLocalVersion();
  }

  getPeers(): string[] {
    return this.ready('getPeers').getPeers();
  }

  /** Per peer sync state, as Battery.getSyncState. */
  getSyncState(): PeerSyncState[] {
    return this.ready('getSyncState').getSyncState();
  }

  /** The mailbox's state, as Battery.getMailboxState. */
  getMailboxState(): MailboxSyncState | null {
    return this.ready('getMailboxState').getMailboxState();
  }

  /** Connected to the signaling server. */
  isConnected(): boolean {
    return this.ready('isConnected').isConnected();
  }

  /** This tab runs the peer connections for every tab of the origin. */
  isLeader(): boolean {
    return this.ready('isLeader').isLeader();
  }

  /** Listeners may be added at any time, also before init(). */
  on<K extends LedgerEvent>(event: K, listener: Listener<BatteryEvents[K]>): void {
    this.events.on(event, listener);
  }

  off<K extends LedgerEvent>(event: K, listener: Listener<BatteryEvents[K]>): void {
    this.events.off(event, listener);
  }

  private async open(): Promise<void> {
    let battery: Battery;
    try {
      battery = await this.connectFn(this.config);
    } catch (e) {
      if (this.phase === 'initializing') this.phase = 'new'; // a failed init may be retried
      throw e;
    }
    if (this.phase === 'closed') {
      // close() was called while we were opening: do not leak the handle.
      await battery.close();
      throw closedError('init');
    }
    for (const name of EVENTS) {
      battery.on(name, ((...args: never[]) => this.events.emit(name, ...(args as BatteryEvents[typeof name]))) as Listener<BatteryEvents[typeof name]>);
    }
    this.battery = battery;
    this.phase = 'ready';
  }

  private ready(method: string): Battery {
    if (this.battery && this.phase === 'ready') return this.battery;
    if (this.phase === 'closed') throw closedError(method);
    throw new BatteryError(
      'WORKER',
      this.phase === 'initializing'
        ? `Ledger.${method}() was called while init() is still running: await ledger.init() first`
        : `Ledger.${method}() was called before init(): await ledger.init() first`,
      { method },
    );
  }

  private async call<T>(method: string, run: (battery: Battery) => Promise<T>): Promise<T> {
    return run(this.ready(method));
  }
}

function closedError(method: string): BatteryError {
  return new BatteryError('WORKER', `Ledger.${method}() was called after close()`, { method });
}
