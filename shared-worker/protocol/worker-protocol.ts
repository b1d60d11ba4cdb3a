/**
 * The tab↔worker wire format: every message either side may post, as tagged unions switched on
 * exhaustively (docs/wire-protocols.md). Structured clone carries these objects, so
 * values are plain data (errors travel as SerializedError, bytes as Uint8Array).
 *
 * A session: the tab posts `hello`; the worker answers `welcome` or, if the protocol versions
 * differ, `refused` with a VERSION error and ignores that port afterwards. Then the tab posts
 * `request`s (ids unique per tab) and gets one `response` per request; the worker pushes
 * `change`, `watch-rows`, `watch-error`, `peer-event` and `error` to every tab at any time, and
 * `diagnostic` to the tabs that asked for them in their hello.
 *
 * Leader relay: only the leader tab can open RTCPeerConnections, so the worker drives the mesh
 * through it. The worker posts `mesh-start`/`mesh-stop`/`link-send`/`link-close` to the leader;
 * the leader posts `link-open`/`link-frame`/`link-drain`/`link-closed`/`mesh-status` back. All of
 * them carry the leader epoch the worker handed out with `claimLeader`; the worker drops (and
 * answers with `mesh-stop`) anything tagged with an epoch that is not the current one.
 */
import type { SerializedError } from './errors.js';
import type { MigrationResult } from './migrations.js';
import type { ExecResult, SqlParams, SqlValue } from './values.js';

/** Bump on any incompatible change to the messages below. */
export const PROTOCOL_VERSION = 1;

export type Durability = 'strict' | 'relaxed';

/** What a tab's cached getters show; sent with `welcome`, every response and every event. */
export interface BatteryState {
  version: number;
  /** The highest HLC of this replica's own changes (its entry in the version vector), 0 if none. */
  localVersion: number;
  peers: string[];
  connected: boolean;
  /** Per peer link being set up or synced (README "Sync status"). */
  syncState: PeerSyncState[];
  /** The mailbox link when `connect({ mailbox: true })` attached one, else null (README "Sync status"). */
  mailbox: MailboxSyncState | null;
  /** Migration steps applied to the replica (protocol/migrations.ts). */
  schemaVersion: number;
}

/**
 * One peer's sync as the worker knows it. `connecting`: the link is authenticating or exchanging
 * hellos; `syncing`: a delta is still on its way in or ours is not yet acknowledged; `caught-up`:
 * neither. `toSend` / `toReceive` count rows (row changes) of the delta answers still in flight:
 * ours not yet acknowledged by the peer, and theirs announced but not yet applied here.
 */
export interface PeerSyncState {
  peerId: string;
  state: 'connecting' | 'syncing' | 'caught-up';
  toSend: number;
  toReceive: number;
}

/**
 * The mailbox as the worker knows it: `online` while its link is up, and the last download
 * progress it reported (null before any): `snapshot` while a snapshot loads, `log` while the
 * changes after it are applied; `done === total` when that phase finished.
 */
export interface MailboxSyncState {
  state: 'online' | 'offline';
  progress: { phase: 'snapshot' | 'log'; done: number; total: number } | null;
}

/**
 * How far a delta from a peer has been applied. Rows are row changes (a row whose cells were
 * written at different times may travel as several); bytes are the sender's estimate of their
 * encoded size (an upper bound, delta-pieces.ts). The totals are what the sender announced with
 * the delta's first piece.
 */
export interface SyncProgress {
  peerId: string;
  rowsDone: number;
  rowsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

// ---------------------------------------------------------------- tab → worker

export interface HelloMessage {
  kind: 'hello';
  v: number;
  tabId: string;
  dbName: string;
  /** Where the worker loads sql.js's wasm from; the first tab's hello wins. */
  wasmUrl: string;
  durability: Durability;
  maxClockDriftMs?: number;
  /** This tab wants the worker's `diagnostic` messages (the `debug` option). */
  debug?: boolean;
}

export interface ConnectRequest {
  op: 'connect';
  signalingUrl?: string;
  token?: string;
  iceServers?: RTCIceServerInit[];
  /** Use the signaling host's mailbox when it offers one (default true). */
  mailbox?: boolean;
}

/** RTCIceServer as plain data (the DOM type is not available inside workers' lib). */
export interface RTCIceServerInit {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export type Request =
  | { op: 'exec'; sql: string; params?: SqlParams }
  | { op: 'execLocal'; sql: string; params?: SqlParams }
  | { op: 'enableSync'; table: string }
  /** Apply the steps the replica has not applied yet (connectBattery's `migrations`). */
  | { op: 'migrate'; steps: string[] }
  | { op: 'watch'; watchId: string; sql: string; params?: SqlParams }
  | { op: 'unwatch'; watchId: string }
  | ConnectRequest
  | { op: 'disconnect' }
  /** The tab holds the leader Web Lock; the worker answers with a fresh, larger epoch. */
  | { op: 'claimLeader' };

export type RequestOp = Request['op'];

/** Result type per request op. */
export interface ResultOf {
  exec: ExecResult;
  execLocal: ExecResult;
  enableSync: null;
  migrate: MigrationResult;
  watch: ExecResult;
  unwatch: null;
  connect: null;
  disconnect: null;
  claimLeader: { epoch: number };
}

interface RequestMessage {
  kind: 'request';
  id: number;
  req: Request;
}

/** The tab is closing on purpose: forget it now instead of waiting for its lock. */
interface ByeMessage {
  kind: 'bye';
}

export interface MeshStatus {
  signaling: 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error';
  attempt?: number;
  error?: SerializedError;
}

export type LeaderToWorker =
  | { kind: 'link-open'; epoch: number; linkId: string; remotePeerId: string; initiator: boolean }
  | { kind: 'link-frame'; epoch: number; linkId: string; bytes: Uint8Array }
  /**
   * Back-pressure report: `consumed` = cumulative bytes the leader took from this link's
   * `link-send`s, `bufferedAmount` = the DataConnection's bufferedAmount right now.
   */
  | { kind: 'link-drain'; epoch: number; linkId: string; consumed: number; bufferedAmount: number }
  | { kind: 'link-closed'; epoch: number; linkId: string; reason?: string }
  | { kind: 'mesh-status'; epoch: number; status: MeshStatus };

export type TabToWorker = HelloMessage | RequestMessage | ByeMessage | LeaderToWorker;

// ---------------------------------------------------------------- worker → tab

/** Where a diagnostic comes from (the `debug` option). */
export type DiagnosticArea = 'mesh' | 'sync' | 'persistence' | 'worker';

export interface Diagnostic {
  area: DiagnosticArea;
  message: string;
}

export interface WelcomeMessage {
  kind: 'welcome';
  v: number;
  nodeId: string;
  state: BatteryState;
  /**
   * A Web Lock the worker holds for its lifetime: a tab that is granted it knows the worker died
   * (a SharedWorker can die with a crashed renderer it shared a process with, and its ports then
   * stay silent).
   */
  workerLock?: string;
}

interface RefusedMessage {
  kind: 'refused';
  error: SerializedError;
}

type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown; state: BatteryState }
  | { kind: 'response'; id: number; ok: false; error: SerializedError; state: BatteryState };

/** Events a PeerRoom reports; the hub fans them out unchanged. */
export type PeerEvent =
  | { name: 'sync'; count: number; peerId: string }
  | { name: 'peer-join'; peerId: string }
  | { name: 'peer-ready'; peerId: string }
  | { name: 'peer-leave'; peerId: string }
  /** Any peer's sync state changed; `peers` is the whole list (also in BatteryState.syncState). */
  | { name: 'sync-state'; peers: PeerSyncState[] }
  | ({ name: 'sync-progress' } & SyncProgress)
  /** The peer's first delta on this link is applied and ours acknowledged. */
  | { name: 'caught-up'; peerId: string }
  | { name: 'connected' }
  | { name: 'disconnected' }
  | { name: 'reconnecting'; attempt: number }
  | { name: 'reconnected' }
  /** The room's mailbox socket opened or closed. */
  | { name: 'mailbox'; state: 'online' | 'offline' }
  /** Download from the mailbox: bytes of a snapshot, or blobs of the log. */
  | { name: 'mailbox-progress'; phase: 'snapshot' | 'log'; done: number; total: number };

export interface MeshStartConfig {
  signalingUrl: string;
  roomId: string;
  selfPeerId: string;
  /** The PeerJS token for selfPeerId (this member's own, member-signaling-token.ts): the same from every leader tab. */
  signalingToken: string;
  iceServers: RTCIceServerInit[];
}

export type WorkerToLeader =
  | ({ kind: 'mesh-start'; epoch: number } & MeshStartConfig)
  | { kind: 'mesh-stop'; epoch: number }
  | { kind: 'link-send'; epoch: number; linkId: string; bytes: Uint8Array }
  | { kind: 'link-close'; epoch: number; linkId: string; reason?: string };

export type WorkerToTab =
  | WelcomeMessage
  | RefusedMessage
  | ResponseMessage
  | { kind: 'change'; tables: string[]; origin: 'local' | 'remote'; state: BatteryState }
  | { kind: 'watch-rows'; watchId: string; result: ExecResult }
  | { kind: 'watch-error'; watchId: string; error: SerializedError }
  | { kind: 'peer-event'; event: PeerEvent; state: BatteryState }
  | { kind: 'error'; error: SerializedError }
  /** Only to tabs whose hello said `debug`. */
  | { kind: 'diagnostic'; diagnostic: Diagnostic }
  | WorkerToLeader;

// ---------------------------------------------------------------- transport

/**
 * One end of a message channel: a MessagePort (SharedWorker), a dedicated Worker, a
 * BroadcastChannel relay, or an in-memory pair in tests. `onClose` fires when the transport
 * itself knows the other side is gone (not all do: MessagePorts mostly don't, hence tab locks).
 */
export interface WirePort<In = unknown, Out = unknown> {
  post(message: Out): void;
  listen(handler: (message: In) => void): void;
  onClose(handler: () => void): void;
  close(): void;
}



/**
 * Dedicated mode: the hosting tab hands its dedicated worker one MessagePort per tab it relays
 * (its own included) with this message, the port in `transfer`. SharedWorkers get ports from
 * `connect` events instead.
 */
export interface AttachPortMessage {
  kind: 'rtc-battery:attach-port';
}

export const ATTACH_PORT: AttachPortMessage = { kind: 'rtc-battery:attach-port' };
