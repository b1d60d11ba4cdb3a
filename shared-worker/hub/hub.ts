/**
 * The worker hub: one per dbName, serving every tab of the origin over its own port. It opens
 * the DurableReplica on the first tab's hello, answers requests in arrival order, fans out
 * commits as `change` events and live-query updates, keeps track of the leader tab, and routes
 * peer traffic to a PeerRoom (peer-room.ts). Transport-agnostic: a SharedWorker's MessagePorts,
 * a dedicated worker's ports, or in-memory pairs in tests all come in through attach().
 *
 * Ordering: requests are handed to the DurableReplica in the order they arrive (across tabs)
 * without waiting for the previous one's storage acknowledgement, so writes from several tabs
 * in one tick share one IndexedDB transaction; the replica keeps call order for its writes.
 */
import { BatteryError, serializeError } from '../protocol/errors.js';
import type { Commit, DurableReplica } from '../replica/contracts/replica-types.js';
import { LiveQueries } from './live-queries.js';
import { LeaderRelay } from './leader-link.js';
import { unavailablePeerRoom, type PeerRoom, type PeerRoomFactory } from '../sync/peer-room.js';
import { noLiveness, TabRegistry, type TabLiveness } from './tab-registry.js';
import { parseTabMessage } from './tab-message-guard.js';
import {
  PROTOCOL_VERSION,
  type BatteryState, type DiagnosticArea, type HelloMessage, type Request, type WirePort, type WorkerToTab,
} from '../protocol/worker-protocol.js';

export interface HubOptions {
  /** Opens the replica for the first hello (its dbName, wasmUrl, maxClockDriftMs). */
  openReplica(hello: HelloMessage): Promise<DurableReplica>;
  liveness?: TabLiveness;
  peerRoom?: PeerRoomFactory;
  /** The Web Lock this worker holds while it lives, announced in `welcome` (see WelcomeMessage). */
  workerLock?: string;
  /** Diagnostics sink (the worker's console); silent by default. */
  log?: (message: string, error?: unknown) => void;
}

type TabPort = WirePort<unknown, WorkerToTab>;

interface PortSession {
  tabId: string | null;
  refused: boolean;
}

export interface HubDiagnostics {
  /** Live queries registered by all tabs. */
  watches: number;
  /** Re-runs of live queries after a change, since the worker started. */
  watchReruns: number;
  watchedTables: Array<{ tabId: string; watchId: string; tables: string[] }>;
  /** Relay messages dropped because they came from a stale leader epoch. */
  staleRelayMessages: number;
  /** Peer links relayed through the current leader tab. */
  relayedLinks: number;
}

export class Hub {
  private readonly tabs: TabRegistry;
  private replica: DurableReplica | null = null;
  private opening: Promise<DurableReplica> | null = null;
  private dbName: string | null = null;
  private room: PeerRoom | null = null;
  private live: LiveQueries | null = null;
  private readonly relay: LeaderRelay;
  /** Tabs whose hello asked for diagnostics (the `debug` option). */
  private readonly debugTabs = new Set<string>();
  private closed = false;

  constructor(private readonly options: HubOptions) {
    this.tabs = new TabRegistry(options.liveness ?? noLiveness);
    this.relay = new LeaderRelay((tabId, m) => this.postTo(tabId, m), () => this.peerRoom());
  }

  /** Serves one tab's port. */
  attach(port: TabPort): void {
    const session: PortSession = { tabId: null, refused: false };
    port.listen((raw) => this.onMessage(port, session, raw));
    port.onClose(() => {
      if (session.tabId !== null) this.forgetTab(session.tabId, port);
    });
  }

  get tabCount(): number {
    return this.tabs.size;
  }

  /** What the hub holds now, for diagnostics and tests. */
  diagnostics(): HubDiagnostics {
    return {
      watches: this.live?.size ?? 0,
      watchReruns: this.live?.reruns ?? 0,
      watchedTables: this.live?.watchedTables() ?? [],
      staleRelayMessages: this.relay.staleDropped,
      relayedLinks: this.relay.linkCount,
    };
  }

  /** Resolves once no live query is being re-run. */
  async liveQueriesIdle(): Promise<void> {
    await this.live?.idle();
  }

  /** Sends a diagnostic to the tabs that asked for them. */
  diagnose(area: DiagnosticArea, message: string): void {
    const m: WorkerToTab = { kind: 'diagnostic', diagnostic: { area, message } };
    for (const tabId of this.debugTabs) this.postTo(tabId, m);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tabs.all()) this.forgetTab(t.tabId);
    await this.room?.close();
    await this.live?.idle();
    await this.replica?.close();
  }

  private onMessage(port: TabPort, session: PortSession, raw: unknown): void {
    if (session.refused || this.closed) return;
    const rawHello = raw as { kind?: unknown; v?: unknown } | null;
    if (rawHello && typeof rawHello === 'object' && rawHello.kind === 'hello' && rawHello.v !== PROTOCOL_VERSION) {
      session.refused = true;
      port.post({
        kind: 'refused',
        error: { code: 'VERSION', message: `tab speaks protocol ${String(rawHello.v)}, this worker speaks ${PROTOCOL_VERSION}; reload the page` },
      });
      return;
    }
    let msg;
    try {
      msg = parseTabMessage(raw);
    } catch (e) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'number' && (raw as { kind?: unknown }).kind === 'request') {
        port.post({ kind: 'response', id, ok: false, error: serializeError(e), state: this.state() });
      } else {
        port.post({ kind: 'error', error: serializeError(e) });
      }
      return;
    }
    if (msg.kind === 'hello') {
      this.onHello(port, session, msg);
      return;
    }
    const tabId = session.tabId;
    if (tabId === null || this.tabs.get(tabId)?.port !== port) {
      const error = serializeError(new BatteryError('WORKER', 'this tab is not registered with the worker (send hello first)'));
      if (msg.kind === 'request') port.post({ kind: 'response', id: msg.id, ok: false, error, state: this.state() });
      else port.post({ kind: 'error', error });
      return;
    }
    switch (msg.kind) {
      case 'request':
        void this.ready().then(
          () => this.serve(tabId, port, msg.id, msg.req),
          (e) => port.post({ kind: 'response', id: msg.id, ok: false, error: serializeError(e), state: this.state() }),
        );
        return;
      case 'bye':
        this.forgetTab(tabId, port);
        return;
      default:
        this.relay.handle(tabId, msg);
    }
  }

  private onHello(port: TabPort, session: PortSession, hello: HelloMessage): void {
    if (this.dbName !== null && hello.dbName !== this.dbName) {
      session.refused = true;
      port.post({ kind: 'refused', error: { code: 'BAD_OP', message: `this worker serves database "${this.dbName}", not "${hello.dbName}"` } });
      return;
    }
    this.dbName = hello.dbName;
    if (session.tabId !== null && session.tabId !== hello.tabId) this.forgetTab(session.tabId, port);
    session.tabId = hello.tabId;
    this.tabs.add(hello.tabId, port, () => this.forgetTab(hello.tabId, port));
    if (hello.debug) this.debugTabs.add(hello.tabId);
    else this.debugTabs.delete(hello.tabId);
    this.open(hello).then(
      (replica) => {
        if (this.tabs.get(hello.tabId)?.port !== port) return;
        port.post({
          kind: 'welcome', v: PROTOCOL_VERSION, nodeId: replica.nodeId, state: this.state(),
          ...(this.options.workerLock !== undefined ? { workerLock: this.options.workerLock } : {}),
        });
        // After the welcome, so the page has its Battery (and its `error` listener) by then.
        for (const e of replica.startupErrors?.() ?? []) port.post({ kind: 'error', error: serializeError(e) });
      },
      (e) => {
        session.refused = true;
        this.tabs.remove(hello.tabId, port);
        port.post({ kind: 'refused', error: serializeError(e) });
      },
    );
  }

  private open(hello: HelloMessage): Promise<DurableReplica> {
    if (!this.opening) {
      this.opening = this.options.openReplica(hello).then((replica) => {
        this.replica = replica;
        const readNow = replica.readNow?.bind(replica);
        this.live = new LiveQueries(
          (sql, params) => replica.execLocal(sql, params),
          (tabId, m) => this.postTo(tabId, m),
          readNow && (async (sql, params) => readNow(sql, params)),
        );
        replica.onCommit((c) => this.onCommit(c));
        // A peer's change is re-run for watchers once merged in memory, before it is stored
        // (docs/architecture.md, "Merged data before it is stored"); onCommit skips it then.
        this.earlyRemote = replica.onRemoteApplied !== undefined;
        replica.onRemoteApplied?.((c) => this.live?.markDirty(c.tables, c.needsSnapshot || c.schemaChange !== undefined, true));
        return replica;
      });
      // A failed open is retried by the next hello rather than poisoning the worker for good.
      this.opening.catch((e) => {
        this.options.log?.('opening the replica failed', e);
        this.diagnose('persistence', `opening the replica failed: ${e instanceof Error ? e.message : String(e)}`);
        this.opening = null;
      });
    }
    return this.opening;
  }

  private ready(): Promise<DurableReplica> {
    if (this.replica) return Promise.resolve(this.replica);
    if (this.opening) return this.opening;
    return Promise.reject(new BatteryError('WORKER', 'the replica is not open'));
  }

  /** Remote commits reach live queries through onRemoteApplied (see open). */
  private earlyRemote = false;

  private onCommit(commit: Commit): void {
    // A schema change logged as itself (schemaChange) changes the schema as much as DDL that snapshots.
    const schemaChanged = commit.needsSnapshot || commit.schemaChange !== undefined;
    if (commit.tables.length > 0 || schemaChanged) {
      const message: WorkerToTab = { kind: 'change', tables: commit.tables, origin: commit.origin, state: this.state() };
      for (const t of this.tabs.all()) t.port.post(message);
    }
    if (!(commit.origin === 'remote' && this.earlyRemote)) this.live?.markDirty(commit.tables, schemaChanged);
  }

  private async serve(tabId: string, port: TabPort, id: number, req: Request): Promise<void> {
    let reply: WorkerToTab;
    try {
      const result = await this.perform(tabId, req);
      reply = { kind: 'response', id, ok: true, result, state: this.state() };
    } catch (e) {
      reply = { kind: 'response', id, ok: false, error: serializeError(e), state: this.state() };
    }
    port.post(reply);
  }

  private perform(tabId: string, req: Request): Promise<unknown> {
    const replica = this.replica!;
    switch (req.op) {
      case 'exec':
        return replica.exec(req.sql, req.params);
      case 'execLocal':
        return replica.execLocal(req.sql, req.params);
      case 'enableSync':
        return replica.enableSync(req.table).then(() => null);
      case 'migrate':
        return replica.migrate(req.steps);
      case 'watch':
        return this.live!.add(tabId, req.watchId, req.sql, req.params);
      case 'unwatch':
        this.live!.remove(tabId, req.watchId);
        return Promise.resolve(null);
      case 'connect': {
        const { op: _op, ...options } = req;
        return this.peerRoom().connect(options).then(() => null);
      }
      case 'disconnect':
        return this.peerRoom().disconnect().then(() => null);
      case 'claimLeader':
        return Promise.resolve({ epoch: this.relay.claim(tabId) });
      default: {
        const never: never = req;
        return Promise.reject(new BatteryError('BAD_OP', `unknown op ${(never as { op: string }).op}`));
      }
    }
  }

  private peerRoom(): PeerRoom {
    if (this.room) return this.room;
    const factory = this.options.peerRoom ?? unavailablePeerRoom;
    const hub = this;
    this.room = factory({
      get replica() {
        if (!hub.replica) throw new BatteryError('WORKER', 'the replica is not open yet');
        return hub.replica;
      },
      emit: (event) => {
        const m: WorkerToTab = { kind: 'peer-event', event, state: this.state() };
        for (const t of this.tabs.all()) t.port.post(m);
      },
      reportError: (error) => {
        const m: WorkerToTab = { kind: 'error', error: serializeError(error) };
        for (const t of this.tabs.all()) t.port.post(m);
      },
      leader: () => this.relay.leader(),
    });
    return this.room;
  }

  private state(): BatteryState {
    const r = this.replica;
    return {
      version: r ? r.getVersion() : 0,
      localVersion: r ? (r.getVector()[r.nodeId] ?? 0) : 0,
      peers: this.room ? this.room.peers() : [],
      connected: this.room ? this.room.isConnected() : false,
      syncState: this.room?.syncState?.() ?? [],
      mailbox: this.room?.mailboxState?.() ?? null,
      schemaVersion: r ? r.getSchemaVersion() : 0,
    };
  }

  private postTo(tabId: string, message: WorkerToTab): void {
    this.tabs.get(tabId)?.port.post(message);
  }

  private forgetTab(tabId: string, port?: TabPort): void {
    if (!this.tabs.remove(tabId, port)) return;
    this.debugTabs.delete(tabId);
    this.live?.removeTab(tabId);
    this.relay.tabGone(tabId);
  }
}
