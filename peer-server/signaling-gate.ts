import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { AddressCounter, normalizeAddress } from './address-counter.js';
import { clientAddress } from './client-address.js';
import { MessageRate, QueuedBytesMeter } from './message-budget.js';
import { admitConnection, screenMessage, type AdmissionLimits, type Refusal, type RefusalReason } from './admission.js';
import { redactPeerId, type Logger } from './log.js';
import type { RoomRegistry } from './room-registry.js';
import { ScreenedSocket } from './screened-socket.js';
import { IdReservations } from './id-reservations.js';
import { errorMessage, idTakenMessage, parseClientMessage, type ClientMessage } from './signaling-protocol.js';

export type RefusalCounts = Record<RefusalReason | 'oversized', number>;

export interface GateConfig extends AdmissionLimits {
  maxMessageBytes: number;
  maxMessagesPerSecond: number;
  maxMessageBurst: number;
  maxQueuedBytesPerAddress: number;
  maxQueuedBytes: number;
  maxBufferedBytesPerRecipient: number;
  /** Bytes relayed to a connected client's socket that it has not read yet. */
  unsentBytesOf: (peerId: string) => number;
  trustProxy: readonly string[];
  /** How long a departed client's id stays held for its token; 0 turns holding off. */
  idHoldMs: number;
  /** Milliseconds, for the rate and queue budgets (Date.now; tests may pass their own). */
  now?: () => number;
  registry: RoomRegistry<unknown>;
  log: Logger;
  /** Answer 404 to WebSocket upgrades on other paths (only when the HTTP server is ours). */
  rejectOtherUpgrades: boolean;
}

/** Held ids over all addresses: ~200 bytes each, so at most ~20 MB. */
const HELD_IDS_OVERALL = 100_000;
/** How long `closeAll` waits for clients to answer a close frame before cutting their sockets. */
const CLOSE_GRACE_MS = 1000;
/** RFC 6455 close codes: 1008 policy violation, 1001 going away. */
const POLICY_VIOLATION = 1008;
const GOING_AWAY = 1001;

/**
 * Everything between an HTTP upgrade and npm `peer`: the limits, the peer-id rule and the
 * in-room relay rule. `peer` 1.0.2 has no hook for any of these, but it lets us build its
 * WebSocketServer (`createWebSocketServer`), so we build one in `noServer` mode and feed it only
 * the upgrades we accept. (In its default `server` mode `ws` would also answer 400 to upgrades on
 * every other path, which breaks embedding next to another WebSocket endpoint.)
 *
 * Message size: `ws`'s `maxPayload` checks each frame's declared length before buffering it and
 * the total of a fragmented message, then closes with 1009 and emits a RangeError
 * (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH) on that socket only. `peer` does not set it (the `ws`
 * default is 100 MiB), so we do.
 */
export class SignalingGate {
  readonly addresses = new AddressCounter();
  readonly refused: RefusalCounts = {
    'bad-query': 0,
    'bad-id': 0,
    'room-full': 0,
    'id-held': 0,
    'address-limit': 0,
    'off-protocol': 0,
    'off-room': 0,
    'rate-limit': 0,
    'queue-limit': 0,
    oversized: 0,
  };
  readonly queue: QueuedBytesMeter;
  readonly heldIds: IdReservations;
  private readonly now: () => number;
  private readonly trustedProxies: ReadonlySet<string>;
  private readonly addressBySocket = new WeakMap<WebSocket, string>();
  private wss: WebSocketServer | undefined;
  private wsPath: string | undefined;
  private closed = false;

  constructor(private readonly config: GateConfig) {
    this.now = config.now ?? Date.now;
    this.queue = new QueuedBytesMeter(config.maxQueuedBytesPerAddress, config.maxQueuedBytes, this.now);
    // An honest address holds a few ids (its browsers' tabs); 4 per allowed socket is plenty.
    this.heldIds = new IdReservations(config.idHoldMs, 4 * config.maxConnectionsPerAddress, HELD_IDS_OVERALL, this.now);
    this.trustedProxies = new Set(config.trustProxy.map((a) => normalizeAddress(a)));
  }

  /** Handed to `peer`, which calls it once at mount with `{ path: '<mount>peerjs', server }`. */
  readonly createWebSocketServer = (options: ServerOptions): WebSocketServer => {
    this.wsPath = options.path;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.config.maxMessageBytes,
      perMessageDeflate: false,
      WebSocket: ScreenedSocket,
    });
    return this.wss;
  };

  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = (req.url ?? '').split('?')[0];
    const wss = this.wss;
    if (pathname !== this.wsPath || wss === undefined || this.closed) {
      if (this.config.rejectOtherUpgrades || (pathname === this.wsPath && this.closed)) {
        // Node's HTTP server drops its socket error listener on upgrade; a reset while we
        // answer must not become an uncaught 'error'.
        socket.on('error', () => socket.destroy());
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(wss, ws as ScreenedSocket, req));
  };

  /** The remote address a registered client connected from (for log lines). */
  addressOf(ws: WebSocket | null): string {
    return (ws && this.addressBySocket.get(ws)) ?? 'unknown';
  }

  get sockets(): number {
    return this.addresses.total;
  }

  /** Stops accepting and closes every signaling socket (1001), cutting those that do not answer. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const clients = [...(this.wss?.clients ?? [])];
    await Promise.all(clients.map((ws) => closeWithin(ws, CLOSE_GRACE_MS)));
  }

  private onSocket(wss: WebSocketServer, ws: ScreenedSocket, req: IncomingMessage): void {
    // A socket emitting 'error' with no listener throws and takes the process down. Admitted
    // sockets get `peer`'s listener, but a refused one can still hit maxPayload (or a bad frame)
    // while its close is in flight, so every socket gets one here first.
    ws.on('error', () => {});
    const address = clientAddress(req, this.trustedProxies);
    const { registry, log } = this.config;
    const decision = admitConnection(req.url ?? '', address, registry, this.addresses, this.config, this.heldIds);
    if (!decision.ok) {
      this.refuse(ws, decision, `from ${address}`);
      return;
    }
    const who = redactPeerId(decision.peerId);
    this.addresses.increment(address);
    this.addressBySocket.set(ws, address);
    const rate = new MessageRate(this.config.maxMessagesPerSecond, this.config.maxMessageBurst, this.now);
    ws.screen = (data, isBinary) => {
      const message = parseClientMessage(data, isBinary);
      const verdict = rate.take()
        ? (screenMessage(message, decision.roomId) ?? this.screenQueued(message, byteLength(data), address))
        : rateRefusal(this.config.maxMessagesPerSecond, this.config.maxMessageBurst);
      if (verdict === null) return true;
      if (verdict === 'drop') return false;
      this.refuse(ws, verdict, `${who} from ${address}`);
      return false;
    };
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
      this.refused.oversized += 1;
      log(`closed ${who} from ${address}: message over maxMessageBytes (${this.config.maxMessageBytes})`);
    });
    ws.on('close', () => this.addresses.decrement(address));
    wss.emit('connection', ws, req);
  }

  /**
   * Bytes the server would hold for someone else. `peer` queues OFFER, ANSWER and CANDIDATE for
   * a recipient that is not connected (LEAVE is dropped instead); the registry mirrors `peer`'s
   * clients, so this is exactly what it will queue. A connected recipient that does not read
   * makes the server hold what it is sent in its socket's buffer: past
   * maxBufferedBytesPerRecipient the message is dropped, not relayed, and its bytes are charged
   * to the sender's queued budget (so a flooder is closed, an honest sender is not).
   */
  private screenQueued(message: ClientMessage | null, bytes: number, address: string): Refusal | 'drop' | null {
    if (message === null || message.type === 'HEARTBEAT') return null;
    const connected = this.config.registry.has(message.dst);
    if (message.type === 'LEAVE' && !connected) return null;
    if (connected) {
      // A recipient whose buffer is empty always gets the message, whatever the cap.
      const unsent = this.config.unsentBytesOf(message.dst);
      if (unsent === 0 || unsent + bytes <= this.config.maxBufferedBytesPerRecipient) return null;
    }
    if (this.queue.add(address, bytes)) return connected ? 'drop' : null;
    return {
      ok: false,
      reason: 'queue-limit',
      message:
        `rtc-battery: too many bytes for peers that are not connected or not reading (maxQueuedBytesPerAddress = ` +
        `${this.config.maxQueuedBytesPerAddress}, maxQueuedBytes = ${this.config.maxQueuedBytes})`,
    };
  }

  private refuse(ws: WebSocket, refusal: Refusal, who: string): void {
    this.refused[refusal.reason] += 1;
    this.config.log(`refused ${who}: ${refusal.reason}`);
    ws.send(refusal.idTaken ? idTakenMessage(refusal.message) : errorMessage(refusal.message));
    ws.close(POLICY_VIOLATION, refusal.reason);
  }
}

function rateRefusal(perSecond: number, burst: number): Refusal {
  return {
    ok: false,
    reason: 'rate-limit',
    message: `rtc-battery: too many messages (maxMessagesPerSecond = ${perSecond}, maxMessageBurst = ${burst})`,
  };
}

function byteLength(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return data.byteLength;
  if (Array.isArray(data)) return (data as Buffer[]).reduce((n, b) => n + b.byteLength, 0);
  return 0;
}

function closeWithin(ws: WebSocket, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) {
      resolve();
      return;
    }
    const timer = setTimeout(() => ws.terminate(), graceMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(GOING_AWAY, 'server closing');
  });
}
