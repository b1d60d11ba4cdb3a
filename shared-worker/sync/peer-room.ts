/**
 * The hub's extension point for peer sync. The hub routes `connect`/`disconnect`, the leader
 * relay and the peer getters to a PeerRoom and fans out the events it reports; everything about
 * rooms, PeerJS, authentication and the sync protocol lives behind this interface (the mesh
 * helper's code). The default room refuses to connect, so a build without the mesh still works
 * as a local, multi-tab database.
 */
import { BatteryError } from '../protocol/errors.js';
import type { DurableReplica } from '../replica/contracts/replica-types.js';
import type { PeerLink } from '../protocol/peer-link.js';
import type { ConnectRequest, MailboxSyncState, MeshStartConfig, MeshStatus, PeerEvent, PeerSyncState } from '../protocol/worker-protocol.js';

/** The current leader tab as the room sees it; a new object (and epoch) per leadership. */
export interface LeaderHandle {
  readonly epoch: number;
  readonly tabId: string;
  startMesh(config: MeshStartConfig): void;
  stopMesh(): void;
}

export interface PeerRoomHost {
  readonly replica: DurableReplica;
  /** Fans an event out to every tab (the hub also refreshes the tabs' cached peers/connected). */
  emit(event: PeerEvent): void;
  /** Reports an error to every tab's `error` event. */
  reportError(error: BatteryError): void;
  leader(): LeaderHandle | null;
}

export interface PeerRoom {
  connect(options: Omit<ConnectRequest, 'op'>): Promise<void>;
  disconnect(): Promise<void>;
  peers(): string[];
  isConnected(): boolean;
  /** Per peer sync state (README "Sync status"); a room without one reports none. */
  syncState?(): PeerSyncState[];
  /** The mailbox's state when one is attached, else null; a room without a mailbox reports none. */
  mailboxState?(): MailboxSyncState | null;
  /** A new leader took over (links of the previous one are already closed), or none is left. */
  onLeaderChange(leader: LeaderHandle | null): void;
  /** The leader opened a DataConnection; the link is relayed through it. */
  onLink(link: PeerLink): void;
  onMeshStatus(status: MeshStatus): void;
  close(): Promise<void>;
}

export type PeerRoomFactory = (host: PeerRoomHost) => PeerRoom;

/** The room of a build without peer sync: local use works, connect says why it cannot. */
export const unavailablePeerRoom: PeerRoomFactory = () => ({
  async connect() {
    throw new BatteryError('SIGNALING', 'peer sync is not available in this build');
  },
  async disconnect() {},
  peers: () => [],
  isConnected: () => false,
  onLeaderChange() {},
  onLink(link) {
    link.close('peer sync is not available in this build');
  },
  onMeshStatus() {},
  async close() {},
});
