/**
 * An in-memory stand-in for PeerJS 1.5.5 + the battery PeerServer, just faithful enough for the
 * mesh's state machine: registration (OPEN / ID-TAKEN), socket loss (`network` error then
 * `disconnected`, connections kept), destroy-before-open on ID-TAKEN (as `Peer._abort` does when
 * `_lastServerId` is unset), offers delivered as `connection` events, and channels that open one
 * timer tick later. Timers are the global ones, so tests drive it with vi.useFakeTimers().
 */
import type { DataChannelLike, DataConnectionLike, PeerErrorLike, PeerFactory, PeerLike, PeerOptionsLike } from '../../../../lib/mesh/peerjs-seam.js';

type Listener = (...args: any[]) => void;

class Emitter {
  private readonly listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
    return this;
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) l(...args);
  }
}

export class FakeChannel implements DataChannelLike {
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readyState = 'open';
  /** When set, sends accumulate in bufferedAmount until drain() instead of arriving at once. */
  stalled = false;
  private readonly queued: Uint8Array[] = [];
  private readonly lowListeners: Array<() => void> = [];
  constructor(
    private readonly owner: FakeConnection,
    readonly ordered = true,
    readonly maxRetransmits: number | null = null,
    readonly maxPacketLifeTime: number | null = null,
  ) {}
  send(data: Uint8Array): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError: channel not open');
    const copy = data.slice();
    if (this.stalled) {
      this.queued.push(copy);
      this.bufferedAmount += copy.byteLength;
      return;
    }
    this.owner.deliverToOther(copy.buffer);
  }
  /** Lets everything queued go out and fires bufferedamountlow if it crossed the threshold. */
  drain(): void {
    this.stalled = false;
    const was = this.bufferedAmount;
    for (const frame of this.queued.splice(0)) this.owner.deliverToOther(frame.buffer);
    this.bufferedAmount = 0;
    if (was > this.bufferedAmountLowThreshold) for (const l of this.lowListeners) l();
  }
  addEventListener(_type: 'bufferedamountlow', listener: () => void): void {
    this.lowListeners.push(listener);
  }
}

let connectionSeq = 0;

export class FakeConnection extends Emitter implements DataConnectionLike {
  readonly connectionId = `dc_fake${++connectionSeq}`;
  open = false;
  closed = false;
  dataChannel: FakeChannel | undefined = undefined;
  other: FakeConnection | null = null;
  constructor(
    readonly peer: string,
    readonly reliable: boolean,
    readonly serialization: string,
    readonly channelShape: { ordered: boolean; maxRetransmits: number | null } = { ordered: true, maxRetransmits: null },
  ) {
    super();
  }
  override on(event: string, listener: Listener): this {
    return super.on(event, listener);
  }
  becomeOpen(): void {
    if (this.closed || this.open) return;
    this.dataChannel = new FakeChannel(this, this.channelShape.ordered, this.channelShape.maxRetransmits);
    this.open = true;
    this.emit('open');
  }
  deliverToOther(data: unknown): void {
    const other = this.other;
    if (other && other.open && !other.closed) other.emit('data', data);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.dataChannel) this.dataChannel.readyState = 'closed';
    const wasOpen = this.open;
    this.open = false;
    if (wasOpen) this.emit('close');
    this.other?.close();
  }
}

export class FakePeer extends Emitter implements PeerLike {
  open = false;
  disconnected = false;
  destroyed = false;
  everOpened = false;
  readonly connections: FakeConnection[] = [];
  constructor(
    private readonly net: FakeNetwork,
    readonly id: string,
    readonly options: PeerOptionsLike,
  ) {
    super();
    setTimeout(() => this.register(), 0);
  }
  override on(event: string, listener: Listener): this {
    return super.on(event, listener);
  }
  private error(type: string, message = type): void {
    this.emit('error', { type, message } satisfies PeerErrorLike);
  }
  register(): void {
    if (this.destroyed || this.disconnected) return;
    if (!this.net.up) {
      this.error('network', 'Lost connection to server.');
      this.dropSocket();
      return;
    }
    if (this.net.refusal) {
      this.error('server-error', this.net.refusal);
      if (!this.everOpened) this.destroy();
      else this.dropSocket();
      return;
    }
    const holder = this.net.registered.get(this.id);
    if (holder && holder !== this) {
      this.error('unavailable-id', `ID "${this.id}" is taken`);
      if (!this.everOpened) this.destroy();
      else this.dropSocket();
      return;
    }
    this.net.registered.set(this.id, this);
    this.open = true;
    this.everOpened = true;
    this.emit('open', this.id);
  }
  /** The signaling socket closed: PeerJS keeps its connections and waits for reconnect(). */
  dropSocket(): void {
    if (this.disconnected) return;
    if (this.net.registered.get(this.id) === this) this.net.registered.delete(this.id);
    this.disconnected = true;
    this.open = false;
    this.emit('disconnected', this.id);
  }
  reconnect(): void {
    if (this.destroyed || !this.disconnected) throw new Error('fake: reconnect() while not disconnected');
    this.disconnected = false;
    setTimeout(() => this.register(), 0);
  }
  destroy(): void {
    if (this.destroyed) return;
    this.dropSocket();
    for (const c of this.connections) c.close();
    this.destroyed = true;
    this.emit('close');
  }
  connect(peerId: string, options: { reliable: boolean; serialization: string }): FakeConnection | undefined {
    if (this.disconnected) {
      this.error('disconnected');
      return undefined;
    }
    const local = new FakeConnection(peerId, options.reliable, options.serialization);
    this.connections.push(local);
    const remote = this.net.registered.get(peerId);
    if (remote && remote.open) this.net.offer(this.id, remote, local, options, { ordered: true, maxRetransmits: null });
    return local;
  }
}

export class FakeNetwork {
  up = true;
  /** A server-side refusal message (room full, ...): registrations fail with `server-error`. */
  refusal: string | null = null;
  readonly registered = new Map<string, FakePeer>();
  readonly peers: FakePeer[] = [];
  listings = 0;

  createPeer: PeerFactory = (id, options) => {
    const peer = new FakePeer(this, id, options);
    this.peers.push(peer);
    return peer;
  };

  listMembers = async (roomId: string): Promise<string[]> => {
    this.listings++;
    if (!this.up) throw new Error('fetch failed');
    return [...this.registered.keys()].filter((id) => id.startsWith(`${roomId}-`)).sort();
  };

  /** Delivers an offer from `from` to `to` and opens both ends one tick later. */
  offer(
    fromId: string,
    to: FakePeer,
    local: FakeConnection,
    options: { reliable: boolean; serialization: string },
    channel: { ordered: boolean; maxRetransmits: number | null },
  ): FakeConnection {
    const incoming = new FakeConnection(fromId, options.reliable, options.serialization, channel);
    local.other = incoming;
    incoming.other = local;
    to.connections.push(incoming);
    to.emit('connection', incoming);
    setTimeout(() => {
      if (local.closed || incoming.closed) return;
      incoming.becomeOpen();
      local.becomeOpen();
    }, 1);
    return incoming;
  }

  /** The server goes away: every registered peer loses its socket. */
  stopServer(): void {
    this.up = false;
    for (const peer of [...this.registered.values()]) {
      peer.emit('error', { type: 'network', message: 'Lost connection to server.' });
      peer.dropSocket();
    }
  }

  startServer(): void {
    this.up = true;
  }

  /** A raw client (no mesh) dials `to` with whatever it likes: the hostile-peer case. */
  rogueDial(fromId: string, to: string, options: { reliable: boolean; serialization: string }, channel = { ordered: true, maxRetransmits: null as number | null }): FakeConnection {
    const local = new FakeConnection(to, options.reliable, options.serialization);
    this.offer(fromId, this.registered.get(to)!, local, options, channel);
    return local;
  }
}
