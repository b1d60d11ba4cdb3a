/**
 * The sync state useSyncState() shows, built from the Battery's events: the signaling connection
 * and, per peer, whether it is still being authenticated ('connecting') or exchanging changes
 * ('syncing'), with the last changes merged from it. The Battery has no sync-state query of its
 * own yet, so a store starts from getPeers()/isConnected() and learns the rest from events.
 */
import type { Battery, BatteryEvents } from '../index.js';

export type PeerSyncPhase = 'connecting' | 'syncing';

export interface PeerSyncState {
  peerId: string;
  phase: PeerSyncPhase;
  /** Changed cells and deletes merged from this peer since the store started. */
  received: number;
  /** When the last of them arrived (Date.now()), null before any. */
  lastSyncAt: number | null;
}

export interface SyncState {
  signaling: 'connected' | 'reconnecting' | 'disconnected';
  /** The reconnect attempt while `signaling` is 'reconnecting'. */
  attempt: number | null;
  peers: PeerSyncState[];
}

type EventsOf = Pick<Battery, 'on' | 'off' | 'getPeers' | 'isConnected'>;

export class SyncStateStore {
  private state: SyncState;
  private readonly listeners = new Set<() => void>();
  private readonly handlers: { [K in keyof BatteryEvents]?: (...args: BatteryEvents[K]) => void };

  constructor(private readonly battery: EventsOf, private readonly now: () => number = Date.now) {
    this.state = {
      signaling: battery.isConnected() ? 'connected' : 'disconnected',
      attempt: null,
      peers: battery.getPeers().map((peerId) => ({ peerId, phase: 'syncing', received: 0, lastSyncAt: null })),
    };
    this.handlers = {
      connected: () => this.update({ signaling: 'connected', attempt: null }),
      reconnected: () => this.update({ signaling: 'connected', attempt: null }),
      disconnected: () => this.update({ signaling: 'disconnected', attempt: null }),
      reconnecting: (attempt) => this.update({ signaling: 'reconnecting', attempt }),
      'peer-join': (peerId) => this.peer(peerId, (p) => p ?? { peerId, phase: 'connecting', received: 0, lastSyncAt: null }),
      'peer-ready': (peerId) => this.peer(peerId, (p) => ({ ...(p ?? { peerId, received: 0, lastSyncAt: null }), phase: 'syncing' })),
      'peer-leave': (peerId) => this.peer(peerId, () => null),
      sync: (count, peerId) => this.peer(peerId, (p) => ({
        ...(p ?? { peerId, phase: 'syncing' as const }), received: (p?.received ?? 0) + count, lastSyncAt: this.now(),
      })),
    };
  }

  getSnapshot = (): SyncState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    if (this.listeners.size === 0) this.attach();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.detach();
    };
  };

  private attach(): void {
    for (const [event, handler] of Object.entries(this.handlers)) this.battery.on(event as keyof BatteryEvents, handler as never);
  }

  private detach(): void {
    for (const [event, handler] of Object.entries(this.handlers)) this.battery.off(event as keyof BatteryEvents, handler as never);
  }

  private update(patch: Partial<SyncState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of [...this.listeners]) l();
  }

  private peer(peerId: string, change: (p: PeerSyncState | undefined) => PeerSyncState | null): void {
    const peers = this.state.peers.filter((p) => p.peerId !== peerId);
    const next = change(this.state.peers.find((p) => p.peerId === peerId));
    if (next) peers.push(next);
    peers.sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
    this.update({ peers });
  }
}
