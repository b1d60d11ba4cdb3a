/**
 * What the sync engine reports; the worker forwards these to every tab (README "Events").
 * `peerId` is always the remote PeerJS id (`<roomId>-<nodeId>`).
 */
import type { ErrorCode } from '../protocol/errors.js';
import type { PeerSyncState, SyncProgress } from '../protocol/worker-protocol.js';

export type SyncEvent =
  | { type: 'peer-ready'; peerId: string }
  | { type: 'peer-leave'; peerId: string }
  | { type: 'sync'; count: number; peerId: string }
  | { type: 'sync-state'; peers: PeerSyncState[] }
  | ({ type: 'sync-progress' } & SyncProgress)
  | { type: 'caught-up'; peerId: string }
  | { type: 'error'; code: ErrorCode; message: string; peerId?: string; detail?: Record<string, unknown> };
