/**
 * The leader tab's PeerJS side of a room: one Peer registered as `<roomId>-<nodeId>`, members
 * found by polling the server's room listing, one reliable raw DataConnection per member, each
 * handed out as a PeerLink once its channel is open and checked. Everything above the link
 * (authentication, encryption, sync) happens in the worker; this file only keeps connections up.
 *
 * Dial rule: the lexicographically smaller peer id dials; and a peer that just (re)registered
 * dials every member of its first listing, so a newcomer is linked at once instead of waiting up
 * to one poll period (3 s) for the smaller ids to list it. If both dial (that first listing, a
 * stale listing, a peer that restarted), both sides keep the connection dialed by the smaller id,
 * so they agree without talking.
 *
 * A newer connection from a smaller id that already has an open link (the remote restarted: same
 * node, new leader tab) does NOT replace that link here: this side cannot tell it from someone
 * who only knows the room id, since authentication happens in the worker. Both links are handed
 * out; the sync layer closes the older one once the newer has authenticated and said hello
 * (sync-coordinator.ts), and a newer one that fails authentication is closed, leaving the working
 * link alone. At most MAX_LINKS_PER_PEER open links per remote: one more is refused.
 *
 * Signaling: PeerJS drops to `disconnected` when the socket closes and keeps its DataConnections;
 * we call `reconnect()` with backoff. Every leader tab registers with the same PeerJS token (this
 * member's, per room: shared-worker/sync/member-signaling-token.ts), so a new leader tab takes
 * the id over from the previous one at once.
 * A Peer destroyed before it ever opened (the id is held by another token: `unavailable-id`) is
 * replaced by a new one, also with backoff; it has no connections to lose.
 */
import { BatteryError, serializeError } from '../../shared-worker/protocol/errors.js';
import type { MeshStatus } from '../../shared-worker/protocol/worker-protocol.js';
import { backoffDelay } from './backoff.js';
import { channelIsReliable, offerIsAcceptable, RAW_SERIALIZATION } from './connection-guard.js';
import { DataConnectionLink } from './data-connection-link.js';
import type { DataConnectionLike, PeerErrorLike, PeerFactory, PeerLike } from './peerjs-seam.js';
import { parsePeerId } from '../../shared-worker/protocol/ids.js';
import type { ListMembers } from './room-directory.js';
import type { SignalingTarget } from '../../shared-worker/protocol/signaling-url.js';

export interface MeshConfig {
  selfPeerId: string;
  roomId: string;
  /** PeerJS `token`: this member's, stable per room, so a reload or a new leader tab takes our id back (member-signaling-token.ts). */
  signalingToken: string;
  target: SignalingTarget;
  iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }>;
}

export interface MeshTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface MeshDeps {
  createPeer: PeerFactory;
  listMembers: ListMembers;
  timers?: MeshTimers;
  random?: () => number;
  /** Room listing period while signaling is open. */
  pollMs?: number;
  /** A connection not open by then is dropped (and re-dialed by a later poll). */
  connectTimeoutMs?: number;
}

export interface MeshHandlers {
  status(status: MeshStatus): void;
  link(link: DataConnectionLink): void;
}

/** 3 s: a new member is dialed within about one period, at ~0.3 requests/s per leader tab. */
export const POLL_MS = 3_000;
/** ICE with host candidates completes in well under a second; 15 s covers slow TURN relays. */
const CONNECT_TIMEOUT_MS = 15_000;

/**
 * Open plus negotiating connections at most. The server caps a room at 32 peers by default
 * (peer-server/options.ts); 64 leaves room for a bigger configured room and for replacements in
 * flight, while a flood of offers from ids that will never authenticate cannot grow without bound.
 */
export const MAX_CONNECTIONS = 64;

/** Open links to one remote: the working one and one candidate replacing it (see the dial rule). */
export const MAX_LINKS_PER_PEER = 2;

/** Errors that mean "this server refuses us" rather than "the socket went away". */
const REFUSALS = new Set(['server-error', 'invalid-id', 'invalid-key', 'ssl-unavailable', 'browser-incompatible']);

export class PeerMesh {
  private peer: PeerLike | null = null;
  private stopped = false;
  private attempt = 0;
  private everOpened = false;
  private retryTimer: unknown = null;
  private pollTimer: unknown = null;
  private linkSeq = 0;
  /** Set on every signaling open: the next listing dials every member (see the dial rule). */
  private dialAllOnNextListing = false;
  /** Open links by remote peer id, oldest first (two while a replacement authenticates). */
  private readonly links = new Map<string, DataConnectionLink[]>();
  private readonly pending = new Map<string, DataConnectionLike>();
  private readonly timers: MeshTimers;
  private readonly random: () => number;
  private readonly pollMs: number;
  private readonly connectTimeoutMs: number;

  constructor(
    readonly config: MeshConfig,
    private readonly deps: MeshDeps,
    private readonly handlers: MeshHandlers,
  ) {
    this.timers = deps.timers ?? { setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms), clearTimeout: (h) => globalThis.clearTimeout(h as number) };
    this.random = deps.random ?? Math.random;
    this.pollMs = deps.pollMs ?? POLL_MS;
    this.connectTimeoutMs = deps.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  }

  start(): void {
    this.handlers.status({ signaling: 'connecting' });
    this.createPeer();
  }

  /** Leaves the room: the Peer is destroyed, every link closed. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.clearTimeout(this.retryTimer);
    this.timers.clearTimeout(this.pollTimer);
    for (const conn of this.pending.values()) conn.close();
    this.pending.clear();
    for (const link of [...this.links.values()].flat()) link.close('mesh stopped');
    this.links.clear();
    this.peer?.destroy();
    this.peer = null;
  }

  /** The newest open link by remote peer id (for tests and the relay's bookkeeping). */
  openLinks(): ReadonlyMap<string, DataConnectionLink> {
    return new Map([...this.links].map(([remote, links]) => [remote, links[links.length - 1]!]));
  }

  private linkCount(): number {
    let n = 0;
    for (const l of this.links.values()) n += l.length;
    return n;
  }

  /** Runs one room listing now (also scheduled every pollMs while signaling is open). */
  async pollNow(): Promise<void> {
    const peer = this.peer;
    if (this.stopped || !peer?.open) return;
    let members: string[];
    try {
      members = await this.deps.listMembers(this.config.roomId);
    } catch {
      // The socket's own events report an unreachable server; a failed listing just waits for the next.
      return;
    }
    if (this.stopped || peer !== this.peer || !peer.open) return;
    const dialAll = this.dialAllOnNextListing;
    this.dialAllOnNextListing = false;
    for (const member of members) {
      if (member === this.config.selfPeerId || this.links.has(member) || this.pending.has(member)) continue;
      if (parsePeerId(member)?.roomId !== this.config.roomId) continue;
      if (dialAll || this.config.selfPeerId < member) this.dial(member);
    }
  }

  // ------------------------------------------------------------------ signaling

  private createPeer(): void {
    const { target, selfPeerId, signalingToken, iceServers } = this.config;
    const peer = this.deps.createPeer(selfPeerId, { ...target.peer, token: signalingToken, config: { iceServers }, debug: 0 });
    this.peer = peer;
    const current = () => !this.stopped && this.peer === peer;
    peer.on('open', () => current() && this.onOpen());
    peer.on('connection', (conn) => (current() ? this.onIncoming(conn) : conn.close()));
    peer.on('disconnected', () => current() && this.scheduleRetry());
    peer.on('close', () => current() && this.scheduleRetry());
    peer.on('error', (e) => current() && this.onPeerError(e));
  }

  private onOpen(): void {
    this.attempt = 0;
    this.everOpened = true;
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.handlers.status({ signaling: 'open' });
    this.dialAllOnNextListing = true;
    this.schedulePoll(0);
  }

  private onPeerError(e: PeerErrorLike): void {
    if (REFUSALS.has(e.type)) {
      const error = new BatteryError('SIGNALING', `signaling server refused: ${e.message}`, { type: e.type });
      this.handlers.status({ signaling: 'error', error: serializeError(error) });
    }
    // 'network', 'socket-*' and 'unavailable-id' are followed by 'disconnected' or 'close', which
    // schedule the retry; 'peer-unavailable' and 'webrtc' concern one dial, which times out on
    // its own. None of them needs more here.
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== null) return;
    this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.attempt += 1;
    this.handlers.status({ signaling: 'reconnecting', attempt: this.attempt });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      const peer = this.peer;
      if (this.stopped || !peer) return;
      if (peer.destroyed) this.createPeer();
      else if (peer.disconnected) peer.reconnect();
      else if (!peer.open) this.scheduleRetry();
    }, backoffDelay(this.attempt, undefined, this.random));
  }

  private schedulePoll(delay: number): void {
    this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      void this.pollNow().finally(() => {
        if (!this.stopped && this.peer?.open && this.pollTimer === null && this.retryTimer === null) this.schedulePoll(this.pollMs);
      });
    }, delay);
  }

  /** True once the first registration succeeded (a later 'open' is a reconnection). */
  get hasOpened(): boolean {
    return this.everOpened;
  }

  // ------------------------------------------------------------------ connections

  private dial(member: string): void {
    const conn = this.peer?.connect(member, { reliable: true, serialization: RAW_SERIALIZATION });
    if (conn) this.track(conn, true);
  }

  private onIncoming(conn: DataConnectionLike): void {
    const self = this.config.selfPeerId;
    const full = this.linkCount() + this.pending.size >= MAX_CONNECTIONS && !this.links.has(conn.peer) && !this.pending.has(conn.peer);
    const crowded = (this.links.get(conn.peer)?.length ?? 0) >= MAX_LINKS_PER_PEER;
    if (full || crowded || !offerIsAcceptable(conn) || conn.peer === self || parsePeerId(conn.peer)?.roomId !== this.config.roomId) {
      conn.close();
      return;
    }
    const ours = this.pending.get(conn.peer);
    if (ours) {
      // Both dialed: the connection dialed by the smaller id survives, on both sides.
      if (self < conn.peer) {
        conn.close();
        return;
      }
      this.pending.delete(conn.peer);
      ours.close();
    } else if (this.links.has(conn.peer) && self < conn.peer) {
      // We are this pair's dialer and our link is up: a larger id dialing us is stale or rogue.
      conn.close();
      return;
    }
    this.track(conn, false);
  }

  private track(conn: DataConnectionLike, initiator: boolean): void {
    const remote = conn.peer;
    const previous = this.pending.get(remote);
    if (previous && previous !== conn) previous.close();
    this.pending.set(remote, conn);
    const forget = () => {
      this.timers.clearTimeout(timer);
      if (this.pending.get(remote) === conn) this.pending.delete(remote);
    };
    const timer = this.timers.setTimeout(() => {
      if (this.pending.get(remote) !== conn) return;
      forget();
      conn.close();
    }, this.connectTimeoutMs);
    conn.on('close', forget);
    conn.on('error', () => {
      if (this.pending.get(remote) !== conn) return;
      forget();
      conn.close();
    });
    conn.on('open', () => {
      const wanted = this.pending.get(remote) === conn && !this.stopped;
      forget();
      const channel = conn.dataChannel;
      if (!wanted || !channel || !channelIsReliable(channel)) {
        conn.close();
        return;
      }
      const open = this.links.get(remote) ?? [];
      if (open.length >= MAX_LINKS_PER_PEER) {
        conn.close();
        return;
      }
      // An open link to this remote stays: the sync layer retires it once this one authenticates.
      const link = new DataConnectionLink(`l${++this.linkSeq}-${conn.connectionId}`, conn, channel, initiator);
      this.links.set(remote, [...open, link]);
      link.onClose(() => {
        const left = (this.links.get(remote) ?? []).filter((l) => l !== link);
        if (left.length > 0) this.links.set(remote, left);
        else this.links.delete(remote);
      });
      this.handlers.link(link);
    });
  }
}
