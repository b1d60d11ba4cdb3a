/**
 * The sync state useSyncState() shows: the signaling connection, each peer's sync as
 * Battery.getSyncState() reports it (connecting / syncing / caught-up with rows still to send and
 * to receive) and the mailbox as Battery.getMailboxState() does. The getters are read again on
 * each event that may change them, so a store always agrees with the Battery.
 */
import type { Battery, BatteryEvents, MailboxSyncState, PeerSyncState } from '../index.js';

export type PeerSyncPhase = PeerSyncState['state'];

export interface SyncState {
  signaling: 'connected' | 'reconnecting' | 'disconnected';
  /** The reconnect attempt while `signaling` is 'reconnecting'. */
  attempt: number | null;
  /** One entry per peer with a connection, sorted by peerId. */
  peers: PeerSyncState[];
  /** null when no mailbox is attached. */
  mailbox: MailboxSyncState | null;
}

type Source = Pick<Battery, 'on' | 'off' | 'isConnected' | 'getSyncState' | 'getMailboxState'>;

const byPeerId = (a: PeerSyncState, b: PeerSyncState): number => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);

export class SyncStateStore {
  private state: SyncState;
  private readonly listeners = new Set<() => void>();
  private readonly handlers: { [K in keyof BatteryEvents]?: (...args: BatteryEvents[K]) => void };

  constructor(private readonly battery: Source) {
    this.state = {
      signaling: battery.isConnected() ? 'connected' : 'disconnected',
      attempt: null,
      peers: this.peers(),
      mailbox: battery.getMailboxState(),
    };
    const reread = (): void => this.update({ peers: this.peers(), mailbox: this.battery.getMailboxState() });
    this.handlers = {
      connected: () => this.update({ signaling: 'connected', attempt: null }),
      reconnected: () => this.update({ signaling: 'connected', attempt: null }),
      disconnected: () => this.update({ signaling: 'disconnected', attempt: null, peers: this.peers(), mailbox: this.battery.getMailboxState() }),
      reconnecting: (attempt) => this.update({ signaling: 'reconnecting', attempt }),
      'sync-state': reread,
      mailbox: reread,
      'mailbox-progress': reread,
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

  private peers(): PeerSyncState[] {
    return this.battery.getSyncState().sort(byPeerId);
  }

  private attach(): void {
    for (const [event, handler] of Object.entries(this.handlers)) this.battery.on(event as keyof BatteryEvents, handler as never);
    // Events between the store's creation and its first subscriber were not heard: read again.
    this.update({ signaling: this.battery.isConnected() ? 'connected' : this.state.signaling, peers: this.peers(), mailbox: this.battery.getMailboxState() });
  }

  private detach(): void {
    for (const [event, handler] of Object.entries(this.handlers)) this.battery.off(event as keyof BatteryEvents, handler as never);
  }

  /** Applies the patch; listeners hear of it only when something actually changed (no needless re-render). */
  private update(patch: Partial<SyncState>): void {
    const next = { ...this.state, ...patch };
    if (sameSyncState(this.state, next)) return;
    this.state = next;
    for (const l of [...this.listeners]) l();
  }
}

function sameSyncState(a: SyncState, b: SyncState): boolean {
  return a.signaling === b.signaling && a.attempt === b.attempt
    && JSON.stringify(a.peers) === JSON.stringify(b.peers) && JSON.stringify(a.mailbox) === JSON.stringify(b.mailbox);
}
