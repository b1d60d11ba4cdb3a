/**
 * The Battery handle a tab gets from connectBattery(). Every call is a request to the worker
 * that holds the replica; the synchronous getters read a cache the worker keeps current (its
 * state rides on every response and event). In dedicated mode the worker can be replaced while
 * the handle lives (the hosting tab closed): requests pending on the old one reject with
 * 'WORKER', and attach() re-registers this tab's watches and leadership with the new one.
 */
import type { MigrationResult } from '../shared-worker/protocol/migrations.js';
import { BatteryError, deserializeError } from '../shared-worker/protocol/errors.js';
import { checkParams, type ExecResult, type SqlParams, type SqlRow } from '../shared-worker/protocol/values.js';
import { requireStrongToken } from './battery-options.js';
import { emitPeerEvent, type BatteryEvent, type BatteryEvents } from './battery-events.js';
import { describeError, describePeerEvent, type DiagnosticSink } from './diagnostics.js';
import { Emitter, type Listener } from './emitter.js';
import { Leadership } from './leadership.js';
import type { MeshDriverFactory } from './mesh-driver.js';
import { WatchSet, type WatchCallback } from './watch-set.js';
import { WorkerClient, type PushMessage } from './worker-client.js';
import type {
  BatteryState, HelloMessage, MailboxSyncState, PeerSyncState, WelcomeMessage, Request, RequestOp, ResultOf, RTCIceServerInit, TabToWorker, WirePort,
} from '../shared-worker/protocol/worker-protocol.js';

/**
 * Checked in the tab, before postMessage: a function or Symbol would otherwise fail structured
 * clone with a DataCloneError instead of a BatteryError. Same rules (and 'SQL' code) as the replica.
 */
function sqlAndParams(sql: unknown, params: unknown): { sql: string; params?: SqlParams } {
  if (typeof sql !== 'string') throw new BatteryError('SQL', `sql must be a string (got ${typeof sql})`);
  const checked = checkParams(params);
  return checked === undefined ? { sql } : { sql, params: checked };
}

export type { BatteryEvents, BatteryEvent } from './battery-events.js';

export interface BatteryInit {
  hello: HelloMessage;
  requestTimeoutMs: number;
  meshDriver: MeshDriverFactory;
  signalingUrl?: string;
  token?: string;
  /** connectBattery's allowWeakToken: the default for connect(). */
  allowWeakToken?: boolean;
  iceServers?: RTCIceServerInit[];
  /** The `debug` option's sink; absent when diagnostics are off. */
  diagnostics?: DiagnosticSink;
  mailbox?: boolean;
  /** Runs once on close(), after the worker was told goodbye (release locks, stop a dedicated host). */
  onClose?: () => void | Promise<void>;
}

export class Battery {
  private readonly events = new Emitter<BatteryEvents>();
  private readonly watches: WatchSet;
  private client: WorkerClient | null = null;
  /** A client still in its hello; detach() fails it too. */
  private connecting: WorkerClient | null = null;
  private attached: Promise<void>;
  private markAttached!: () => void;
  private nodeId = '';
  private state: BatteryState = { version: 0, localVersion: 0, peers: [], connected: false, schemaVersion: 0, syncState: [], mailbox: null };
  private readonly leadership: Leadership;
  private closed = false;
  /** The room this handle asked to join (until disconnect), re-sent to a replacement worker. */
  private room: { signalingUrl?: string; token?: string; iceServers?: RTCIceServerInit[]; mailbox?: boolean } | null = null;

  /** @internal Use connectBattery(). */
  constructor(private readonly init: BatteryInit) {
    this.attached = new Promise((r) => (this.markAttached = r));
    this.leadership = new Leadership(init.meshDriver, () => this.client, init.diagnostics);
    this.watches = new WatchSet(
      (req) => this.request(req),
      (error) => this.events.emit('error', error),
    );
  }

  // ------------------------------------------------------------------ public API

  /** `exec<Row>(...)` types the rows; the type is the caller's word, not checked at run time. */
  async exec<Row extends object = SqlRow>(sql: string, params?: SqlParams): Promise<ExecResult<Row>> {
    return this.request({ op: 'exec', ...sqlAndParams(sql, params) }) as Promise<ExecResult<Row>>;
  }

  async execLocal<Row extends object = SqlRow>(sql: string, params?: SqlParams): Promise<ExecResult<Row>> {
    return this.request({ op: 'execLocal', ...sqlAndParams(sql, params) }) as Promise<ExecResult<Row>>;
  }

  async enableSync(table: string): Promise<void> {
    await this.request({ op: 'enableSync', table });
  }

  /**
   * @internal connectBattery passes its `migrations` here: the worker applies the steps the
   * replica has not applied yet (SCHEMA if the replica is newer or a step fails).
   */
  async migrate(steps: string[]): Promise<MigrationResult> {
    return this.request({ op: 'migrate', steps });
  }

  /** Migration steps applied to the replica (kept current, like getVersion). */
  getSchemaVersion(): number {
    return this.state.schemaVersion;
  }

  /**
   * Live query: `callback({columns, rows})` runs with the current result as soon as the worker
   * answers, then whenever a table the statement reads changes (this tab, another tab, a peer)
   * and the result differs. Returns the unsubscribe function at once. Errors (bad SQL, not a
   * single read-only statement) go to `onError`, or the `error` event when none is given.
   */
  watch<Row extends object = SqlRow>(
    sql: string, params: SqlParams | undefined | null, callback: WatchCallback<Row>, onError?: (e: BatteryError) => void,
  ): () => void {
    if (this.closed) throw new BatteryError('WORKER', 'the battery is closed');
    if (typeof callback !== 'function') throw new BatteryError('BAD_OP', 'watch(sql, params, callback): callback must be a function');
    const checked = sqlAndParams(sql, params ?? undefined);
    return this.watches.add(checked.sql, checked.params, callback as WatchCallback, onError);
  }

  /**
   * Joins the room of `token` (default: connectBattery's) through the PeerServer at `signalingUrl`.
   * A token below 128 bits by the rule in docs/security.md is refused (BAD_OP) unless `allowWeakToken`
   * (here or in connectBattery's options) is true.
   */
  async connect(signalingUrl?: string, token?: string, options?: { allowWeakToken?: boolean }): Promise<void> {
    const url = signalingUrl ?? this.init.signalingUrl;
    const tok = token ?? this.init.token;
    const allowWeak = options?.allowWeakToken ?? this.init.allowWeakToken ?? false;
    if (typeof allowWeak !== 'boolean') throw new BatteryError('BAD_OP', 'connect(): allowWeakToken must be a boolean');
    if (typeof tok === 'string') requireStrongToken(tok, allowWeak);
    const room = {
      ...(url !== undefined ? { signalingUrl: url } : {}),
      ...(tok !== undefined ? { token: tok } : {}),
      ...(this.init.iceServers !== undefined ? { iceServers: this.init.iceServers } : {}),
      ...(this.init.mailbox !== undefined ? { mailbox: this.init.mailbox } : {}),
    };
    await this.request({ op: 'connect', ...room });
    this.room = room;
  }

  async disconnect(): Promise<void> {
    this.room = null;
    await this.request({ op: 'disconnect' });
  }

  /** Leaves the worker (other tabs keep it), rejects pending calls with 'WORKER', releases this tab's locks. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.leadership.end();
    this.watches.clear();
    this.connecting?.close();
    this.client?.close();
    this.client = null;
    try {
      await this.init.onClose?.();
    } finally {
      this.events.clear();
    }
  }

  getNodeId(): string {
    return this.nodeId;
  }

  /** A counter that grows with every change the replica takes in (local or merged). */
  getVersion(): number {
    return this.state.version;
  }

  /** The HLC of this replica's newest own change (its entry in the version vector), 0 before any. */
  getLocalVersion(): number {
    return this.state.localVersion;
  }

  getPeers(): string[] {
    return [...this.state.peers];
  }

  isConnected(): boolean {
    return this.state.connected;
  }

  /** Per peer: connecting, syncing or caught-up, and rows still to send / to receive (README "Sync status"). */
  getSyncState(): PeerSyncState[] {
    return this.state.syncState.map((p) => ({ ...p }));
  }

  /** The mailbox's link state and last download progress, null when no mailbox is attached (README "Sync status"). */
  getMailboxState(): MailboxSyncState | null {
    const m = this.state.mailbox;
    return m ? { state: m.state, progress: m.progress ? { ...m.progress } : null } : null;
  }

  isLeader(): boolean {
    return this.leadership.isLeader;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  on<K extends BatteryEvent>(event: K, listener: Listener<BatteryEvents[K]>): void {
    this.events.on(event, listener);
  }

  off<K extends BatteryEvent>(event: K, listener: Listener<BatteryEvents[K]>): void {
    this.events.off(event, listener);
  }

  // ------------------------------------------------------------------ wiring (connectBattery)

  /** @internal Connects to a (new) worker over `port`: hello, then re-registers watches and leadership. */
  async attach(port: WirePort<unknown, TabToWorker>): Promise<WelcomeMessage | null> {
    if (this.closed) throw new BatteryError('WORKER', 'the battery is closed');
    const client = new WorkerClient(port, {
      timeoutMs: this.init.requestTimeoutMs,
      onPush: (m) => this.onPush(client, m),
      onResponse: (m) => {
        if (client === this.client) this.state = m.state;
      },
    });
    this.connecting?.fail(new BatteryError('WORKER', 'superseded by a newer worker connection'));
    this.connecting = client;
    let welcome;
    try {
      welcome = await client.hello(this.init.hello);
    } finally {
      if (this.connecting === client) this.connecting = null;
    }
    if (this.closed) {
      client.close();
      return null;
    }
    this.client?.fail(new BatteryError('WORKER', 'the worker was replaced'));
    this.client = client;
    this.nodeId = welcome.nodeId;
    this.state = welcome.state;
    this.markAttached();
    this.watches.resubscribeAll();
    // A replacement worker (dedicated mode: the hosting leader tab closed) starts outside the
    // room; rejoin it. The worker's room treats a repeat of the same connect as a no-op.
    if (this.room) {
      this.request({ op: 'connect', ...this.room }).catch((e: unknown) => {
        if (!this.closed) this.events.emit('error', e instanceof BatteryError ? e : new BatteryError('SIGNALING', String(e)));
      });
    }
    await this.leadership.claim();
    return welcome;
  }

  /** @internal The worker behind the current port is gone: reject what is pending on it. */
  detach(reason: string): void {
    this.connecting?.fail(new BatteryError('WORKER', reason));
    this.connecting = null;
    const client = this.client;
    if (!client) return;
    this.client = null;
    this.attached = new Promise((r) => (this.markAttached = r));
    client.fail(new BatteryError('WORKER', reason));
    this.leadership.workerLost();
  }

  /**
   * @internal This tab holds the leader lock. It is the leader from now on (isLeader(), the
   * `leader` event); the worker is told and answers with the epoch its mesh driver uses.
   */
  async becomeLeader(): Promise<void> {
    if (this.closed || !this.leadership.begin()) return;
    this.events.emit('leader');
    await this.leadership.claim();
  }

  /** @internal Reports an error through the `error` event. */
  reportError(error: BatteryError): void {
    this.events.emit('error', error);
  }

  private async request<K extends RequestOp>(req: Extract<Request, { op: K }>): Promise<ResultOf[K]> {
    if (this.closed) throw new BatteryError('WORKER', 'the battery is closed');
    if (!this.client) await this.waitForWorker();
    return this.client!.request<K>(req);
  }

  /** Dedicated mode between hosts: wait (bounded by the request timeout) for the next one. */
  private async waitForWorker(): Promise<void> {
    const ms = this.init.requestTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.attached,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new BatteryError('WORKER', `no worker to serve the request within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (this.closed || !this.client) throw new BatteryError('WORKER', 'the battery is closed');
  }

  private onPush(from: WorkerClient, m: PushMessage): void {
    if (from !== this.client || this.closed) return;
    switch (m.kind) {
      case 'change':
        this.state = m.state;
        this.events.emit('change', m.tables);
        return;
      case 'watch-rows':
        this.watches.deliver(m.watchId, m.result);
        return;
      case 'watch-error':
        this.watches.fail(m.watchId, deserializeError(m.error));
        return;
      case 'peer-event':
        this.state = m.state;
        this.init.diagnostics?.({ area: 'sync', message: describePeerEvent(m.event) });
        emitPeerEvent(this.events, m.event);
        return;
      case 'error': {
        const error = deserializeError(m.error);
        this.init.diagnostics?.({ area: 'sync', message: describeError(error) });
        this.events.emit('error', error);
        return;
      }
      case 'diagnostic':
        this.init.diagnostics?.(m.diagnostic);
        return;
      case 'mesh-start':
      case 'mesh-stop':
      case 'link-send':
      case 'link-close':
        this.leadership.command(from, m);
        return;
      default: {
        const never: never = m;
        void never;
      }
    }
  }
}
