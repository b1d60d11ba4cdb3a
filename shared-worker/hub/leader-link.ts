/**
 * The worker's view of the leader tab: who it is, its epoch, and the peer links relayed through
 * it. Leadership itself is decided by a Web Lock among the tabs (lib/leader-election.ts); the
 * tab holding it claims leadership here and gets a strictly larger epoch. Every relay message
 * carries that epoch, so one from a tab that lost leadership (frozen, then thawed after another
 * took over) is dropped and answered with `mesh-stop` instead of corrupting the new leader's links.
 */
import { RelayedLink } from '../sync/relayed-link.js';
import type { LeaderHandle, PeerRoom } from '../sync/peer-room.js';
import type { LeaderToWorker, WorkerToLeader } from '../protocol/worker-protocol.js';

export class LeaderRelay {
  private epoch = 0;
  private leaderTabId: string | null = null;
  private current: LeaderHandle | null = null;
  private readonly links = new Map<string, RelayedLink>();
  /** Relay messages dropped because of a stale epoch or sender (tests, diagnostics). */
  staleDropped = 0;

  constructor(
    private readonly post: (tabId: string, message: WorkerToLeader) => void,
    private readonly room: () => PeerRoom,
  ) {}

  leader(): LeaderHandle | null {
    return this.current;
  }

  /** The tab holds the leader lock: it becomes leader with a fresh epoch. */
  claim(tabId: string): number {
    this.dropLinks('leader changed');
    const previous = this.leaderTabId;
    if (previous !== null && previous !== tabId) this.post(previous, { kind: 'mesh-stop', epoch: this.epoch });
    const epoch = ++this.epoch;
    this.leaderTabId = tabId;
    const send = (m: WorkerToLeader) => {
      if (this.epoch === epoch) this.post(tabId, m);
    };
    this.current = {
      epoch,
      tabId,
      startMesh: (config) => send({ kind: 'mesh-start', epoch, ...config }),
      stopMesh: () => send({ kind: 'mesh-stop', epoch }),
    };
    this.room().onLeaderChange(this.current);
    return epoch;
  }

  /** A tab left; if it was the leader, nobody leads until the next claim. */
  tabGone(tabId: string): void {
    if (this.leaderTabId !== tabId) return;
    this.dropLinks('leader tab closed');
    this.leaderTabId = null;
    this.current = null;
    this.epoch++; // whatever that tab still sends is stale from now on
    this.room().onLeaderChange(null);
  }

  handle(fromTabId: string, m: LeaderToWorker): void {
    if (m.epoch !== this.epoch || fromTabId !== this.leaderTabId) {
      this.staleDropped++;
      this.post(fromTabId, { kind: 'mesh-stop', epoch: m.epoch });
      return;
    }
    switch (m.kind) {
      case 'link-open': {
        if (this.links.has(m.linkId)) {
          this.post(fromTabId, { kind: 'link-close', epoch: m.epoch, linkId: m.linkId, reason: 'duplicate link id' });
          return;
        }
        const epoch = m.epoch;
        const link = new RelayedLink(m.linkId, m.remotePeerId, m.initiator, {
          send: (linkId, bytes) => {
            if (this.epoch === epoch) this.post(fromTabId, { kind: 'link-send', epoch, linkId, bytes });
          },
          close: (linkId, reason) => {
            this.links.delete(linkId);
            if (this.epoch === epoch) {
              this.post(fromTabId, reason === undefined
                ? { kind: 'link-close', epoch, linkId }
                : { kind: 'link-close', epoch, linkId, reason });
            }
          },
        });
        this.links.set(m.linkId, link);
        this.room().onLink(link);
        return;
      }
      case 'link-frame':
        this.links.get(m.linkId)?.deliver(m.bytes);
        return;
      case 'link-drain':
        this.links.get(m.linkId)?.reportDrain(m.consumed, m.bufferedAmount);
        return;
      case 'link-closed': {
        const link = this.links.get(m.linkId);
        this.links.delete(m.linkId);
        link?.finish(m.reason);
        return;
      }
      case 'mesh-status':
        this.room().onMeshStatus(m.status);
        return;
      default: {
        const never: never = m;
        throw new Error(`unhandled leader message ${(never as { kind: string }).kind}`);
      }
    }
  }

  get linkCount(): number {
    return this.links.size;
  }

  private dropLinks(reason: string): void {
    const links = [...this.links.values()];
    this.links.clear();
    for (const l of links) l.finish(reason);
  }
}
