/**
 * What the sync engine reports; the worker forwards these to every tab (README "Events").
 * `peerId` is always the remote PeerJS id (`<roomId>-<nodeId>`).
 */
import type { ErrorCode } from '../protocol/errors.js';

export type SyncEvent =
  | { type: 'peer-ready'; peerId: string }
  | { type: 'peer-leave'; peerId: string }
  | { type: 'sync'; count: number; peerId: string }
  | { type: 'error'; code: ErrorCode; message: string; peerId?: string; detail?: Record<string, unknown> };
