/**
 * The worker's peer room: what the hub's PeerRoom extension point (peer-room.ts) runs when peer
 * sync is built in. `connect(url, token)` derives the room keys (the token stays in this worker),
 * creates the sync coordinator on the DurableReplica and asks the current leader tab to join the
 * room (`mesh-start`). Links the leader relays become PeerLinks of the coordinator; its events,
 * and the leader's signaling status, become Battery events for every tab.
 *
 * Event mapping (README "Events"): `peer-join` when the first link to a peer opens (before
 * authentication: "discovered"); `peer-ready`/`peer-leave`/`sync`/`error` from the coordinator;
 * `connected` on the first signaling open of a connect, then `disconnected`, `reconnecting(n)`,
 * `reconnected` as the leader reports it. A leader change is a reconnection, not a new connect.
 */
import { memberSignalingToken } from './member-signaling-token.js';
import { BatteryError, deserializeError } from '../protocol/errors.js';
import { NODE_ID_PATTERN, parsePeerId, peerIdFor } from '../protocol/ids.js';
import type { PeerLink } from '../protocol/peer-link.js';
import type { LeaderHandle, PeerRoom, PeerRoomFactory, PeerRoomHost } from './peer-room.js';
import type { DurableReplica } from '../replica/contracts/replica-types.js';
import type { SyncEvent } from './sync-events.js';
import type { ConnectRequest, MailboxSyncState, MeshStartConfig, MeshStatus, PeerEvent, PeerSyncState } from '../protocol/worker-protocol.js';
import { parseSignalingUrl } from '../protocol/signaling-url.js';
import { deriveRoomKeys, type RoomKeys } from './room-keys.js';
import { createSyncCoordinator } from './sync-coordinator.js';
import { attachMailbox, type MailboxAttachment, type MailboxAttachmentOptions } from './mailbox-attachment.js';

/** The part of the sync helper's coordinator the room drives. */
interface SyncCoordinatorLike {
  addLink(link: PeerLink): void;
  close(): void | Promise<void>;
}

export interface CoordinatorInit {
  replica: DurableReplica;
  keys: RoomKeys;
  selfPeerId: string;
  emit(event: SyncEvent): void;
}

export interface SyncPeerRoomDeps {
  deriveKeys(token: string): Promise<RoomKeys>;
  createCoordinator(init: CoordinatorInit): SyncCoordinatorLike;
  /** Runs a task after the current one (default setTimeout 0); tests pass a synchronous one. */
  schedule?: (task: () => void) => void;
  /** Starts the room's mailbox beside the mesh (default: the real one; tests pass a fake or none). */
  attachMailbox?: (options: MailboxAttachmentOptions) => MailboxAttachment;
}

interface Session {
  key: string;
  mesh: MeshStartConfig;
  coordinator: SyncCoordinatorLike;
  everOpened: boolean;
  mailbox: MailboxAttachment | null;
  mailboxOnline: boolean;
  /** The mailbox's last download progress, for mailboxState(). */
  mailboxProgress: MailboxSyncState['progress'];
}

export function createSyncPeerRoom(deps: SyncPeerRoomDeps): PeerRoomFactory {
  return (host) => new SyncPeerRoom(host, deps);
}

/** What the worker entry passes as the hub's `peerRoom`: real HKDF keys, the real sync engine. */
export const syncPeerRoom: PeerRoomFactory = createSyncPeerRoom({
  deriveKeys: deriveRoomKeys,
  createCoordinator: (init) => createSyncCoordinator(init),
  attachMailbox,
});

class SyncPeerRoom implements PeerRoom {
  private session: Session | null = null;
  /** The last url/token/iceServers given, so `connect()` without arguments rejoins. */
  private lastOptions: Omit<ConnectRequest, 'op'> = {};
  private connecting: Promise<void> | null = null;
  private signalingOpen = false;
  private readonly ready = new Set<string>();
  /** The coordinator's last sync-state (its sessions' states), for the tabs' getSyncState. */
  private syncStates: PeerSyncState[] = [];
  private readonly linksByPeer = new Map<string, Set<PeerLink>>();

  private readonly schedule: (task: () => void) => void;

  constructor(
    private readonly host: PeerRoomHost,
    private readonly deps: SyncPeerRoomDeps,
  ) {
    this.schedule = deps.schedule ?? ((task) => void setTimeout(task, 0));
  }

  async connect(options: Omit<ConnectRequest, 'op'>): Promise<void> {
    // One connect at a time: a second call waits, then compares against what the first set up.
    while (this.connecting) await this.connecting.catch(() => undefined);
    const run = this.doConnect(options);
    this.connecting = run;
    try {
      await run;
    } finally {
      if (this.connecting === run) this.connecting = null;
    }
  }

  private async doConnect(options: Omit<ConnectRequest, 'op'>): Promise<void> {
    const signalingUrl = options.signalingUrl ?? this.lastOptions.signalingUrl;
    const token = options.token ?? this.lastOptions.token;
    const iceServers = options.iceServers ?? this.lastOptions.iceServers ?? [];
    const useMailbox = options.mailbox ?? this.lastOptions.mailbox ?? true;
    if (!signalingUrl) throw new BatteryError('SIGNALING', 'connect needs a signalingUrl (none given now or at startup)');
    if (typeof token !== 'string' || token === '') throw new BatteryError('AUTH', 'connect needs a non-empty room token');
    parseSignalingUrl(signalingUrl); // a bad URL fails the call here, not later in the leader tab
    if (!Array.isArray(iceServers)) throw new BatteryError('SIGNALING', 'iceServers must be an array');
    const key = JSON.stringify([signalingUrl, token, iceServers, useMailbox]);
    if (this.session?.key === key) return;
    if (this.session) await this.disconnect();

    const replica = this.host.replica;
    if (!NODE_ID_PATTERN.test(replica.nodeId)) {
      throw new BatteryError('WORKER', `node id ${JSON.stringify(replica.nodeId)} is not 16 hex digits`);
    }
    const keys = await this.deps.deriveKeys(token);
    const selfPeerId = peerIdFor(keys.roomId, replica.nodeId);
    const signalingToken = await memberSignalingToken(replica, keys.roomId);
    let session: Session | null = null;
    const coordinator = this.deps.createCoordinator({
      replica,
      keys,
      selfPeerId,
      emit: (event) => {
        if (session && this.session === session) this.onSyncEvent(event);
      },
    });
    session = { key, mesh: { signalingUrl, roomId: keys.roomId, selfPeerId, signalingToken, iceServers }, coordinator, everOpened: false, mailbox: null, mailboxOnline: false, mailboxProgress: null };
    this.session = session;
    this.lastOptions = { signalingUrl, token, iceServers, mailbox: useMailbox };
    const attach = this.deps.attachMailbox;
    if (useMailbox && attach) {
      const own = session;
      // The worker talks to the mailbox itself (no leader tab needed); a host without one is simply skipped.
      session.mailbox = attach({
        signalingUrl,
        token,
        replica,
        status: (state) => {
          if (this.session !== own || own.mailboxOnline === (state === 'online')) return;
          own.mailboxOnline = state === 'online';
          this.emit({ name: 'mailbox', state });
        },
        progress: (p) => {
          if (this.session !== own) return;
          own.mailboxProgress = { phase: p.phase, done: p.done, total: p.total };
          this.emit({ name: 'mailbox-progress', phase: p.phase, done: p.done, total: p.total });
        },
        error: (err) => {
          if (this.session === own) this.host.reportError(err);
        },
      });
    }
    this.host.leader()?.startMesh(session.mesh);
  }

  async disconnect(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = null;
    await session.mailbox?.stop();
    if (session.mailboxOnline) this.emit({ name: 'mailbox', state: 'offline' });
    this.host.leader()?.stopMesh();
    for (const links of this.linksByPeer.values()) for (const link of links) link.close('disconnected');
    this.linksByPeer.clear();
    await session.coordinator.close();
    const hadSyncState = this.syncStates.length > 0;
    this.syncStates = [];
    for (const peerId of this.ready) this.emit({ name: 'peer-leave', peerId });
    this.ready.clear();
    if (hadSyncState) this.emit({ name: 'sync-state', peers: [] });
    this.setSignaling(false);
  }

  peers(): string[] {
    return [...this.ready];
  }

  syncState(): PeerSyncState[] {
    return this.syncStates;
  }

  mailboxState(): MailboxSyncState | null {
    const session = this.session;
    if (!session?.mailbox) return null;
    return { state: session.mailboxOnline ? 'online' : 'offline', progress: session.mailboxProgress };
  }

  isConnected(): boolean {
    return this.signalingOpen;
  }

  onLeaderChange(leader: LeaderHandle | null): void {
    // The hub already closed the previous leader's links (their close reaches the coordinator).
    this.setSignaling(false);
    if (!leader || !this.session) return;
    // The hub reports a new leader while it is still answering that tab's `claimLeader`; a
    // mesh-start posted now would reach the tab before the epoch it is tagged with, and the tab
    // drops it (lib/battery.ts only forwards commands once its driver for that epoch exists).
    // One macrotask later the response is already on the same (ordered) port.
    this.schedule(() => {
      if (this.session && this.host.leader() === leader) leader.startMesh(this.session.mesh);
    });
  }

  onLink(link: PeerLink): void {
    const session = this.session;
    const remote = parsePeerId(link.remotePeerId);
    if (!session || !remote || remote.roomId !== session.mesh.roomId || link.remotePeerId === session.mesh.selfPeerId) {
      link.close(session ? 'not a member of this room' : 'not connected');
      return;
    }
    let links = this.linksByPeer.get(link.remotePeerId);
    if (!links) {
      links = new Set();
      this.linksByPeer.set(link.remotePeerId, links);
      this.emit({ name: 'peer-join', peerId: link.remotePeerId });
    }
    links.add(link);
    link.onClose(() => {
      const set = this.linksByPeer.get(link.remotePeerId);
      if (!set?.delete(link)) return;
      if (set.size === 0) this.linksByPeer.delete(link.remotePeerId);
    });
    session.coordinator.addLink(link);
  }

  onMeshStatus(status: MeshStatus): void {
    const session = this.session;
    if (!session) return;
    switch (status.signaling) {
      case 'connecting':
        return;
      case 'open':
        this.setSignaling(true, session.everOpened ? 'reconnected' : 'connected');
        session.everOpened = true;
        return;
      case 'reconnecting':
        this.setSignaling(false);
        this.emit({ name: 'reconnecting', attempt: status.attempt ?? 1 });
        return;
      case 'closed':
        this.setSignaling(false);
        return;
      case 'error':
        this.host.reportError(
          status.error ? deserializeError(status.error) : new BatteryError('SIGNALING', 'the signaling server reported an error'),
        );
        return;
      default: {
        const never: never = status.signaling;
        void never;
      }
    }
  }

  async close(): Promise<void> {
    await this.disconnect();
  }

  private setSignaling(open: boolean, openEvent: 'connected' | 'reconnected' = 'connected'): void {
    if (open === this.signalingOpen) return;
    this.signalingOpen = open;
    this.emit(open ? { name: openEvent } : { name: 'disconnected' });
  }

  private onSyncEvent(event: SyncEvent): void {
    switch (event.type) {
      case 'peer-ready':
        this.ready.add(event.peerId);
        this.emit({ name: 'peer-ready', peerId: event.peerId });
        return;
      case 'peer-leave':
        if (this.ready.delete(event.peerId)) this.emit({ name: 'peer-leave', peerId: event.peerId });
        return;
      case 'sync':
        this.emit({ name: 'sync', count: event.count, peerId: event.peerId });
        return;
      case 'sync-state':
        this.syncStates = event.peers;
        this.emit({ name: 'sync-state', peers: event.peers });
        return;
      case 'sync-progress': {
        const { type: _type, ...progress } = event;
        this.emit({ name: 'sync-progress', ...progress });
        return;
      }
      case 'caught-up':
        this.emit({ name: 'caught-up', peerId: event.peerId });
        return;
      case 'error':
        this.host.reportError(
          new BatteryError(event.code, event.message, { ...event.detail, ...(event.peerId ? { peerId: event.peerId } : {}) }),
        );
        return;
      default: {
        const never: never = event;
        void never;
      }
    }
  }

  private emit(event: PeerEvent): void {
    this.host.emit(event);
  }
}
