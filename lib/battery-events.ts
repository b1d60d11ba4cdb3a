/**
 * The Battery handle's events (README "Events") and how a
 * PeerRoom's events become them.
 */
import type { BatteryError } from '../shared-worker/protocol/errors.js';
import type { Emitter } from './emitter.js';
import type { PeerEvent, PeerSyncState, SyncProgress } from '../shared-worker/protocol/worker-protocol.js';

export interface BatteryEvents {
  sync: [count: number, peerId: string];
  'peer-join': [peerId: string];
  'peer-ready': [peerId: string];
  'peer-leave': [peerId: string];
  'sync-state': [peers: PeerSyncState[]];
  'sync-progress': [progress: SyncProgress];
  'caught-up': [peerId: string];
  connected: [];
  disconnected: [];
  reconnecting: [attempt: number];
  reconnected: [];
  change: [tables: string[]];
  leader: [];
  error: [error: BatteryError];
  /** The room's mailbox (store and forward on the signaling host) went online or offline. */
  mailbox: [state: 'online' | 'offline'];
  /** Progress of a mailbox download: `phase` 'snapshot' counts bytes, 'log' counts blobs. */
  'mailbox-progress': [progress: { phase: 'snapshot' | 'log'; done: number; total: number }];
}

export type BatteryEvent = keyof BatteryEvents;

export function emitPeerEvent(events: Emitter<BatteryEvents>, e: PeerEvent): void {
  switch (e.name) {
    case 'sync':
      return events.emit('sync', e.count, e.peerId);
    case 'peer-join':
    case 'peer-ready':
    case 'peer-leave':
    case 'caught-up':
      return events.emit(e.name, e.peerId);
    case 'sync-state':
      return events.emit('sync-state', e.peers);
    case 'sync-progress': {
      const { name: _name, ...progress } = e;
      return events.emit('sync-progress', progress);
    }
    case 'reconnecting':
      return events.emit('reconnecting', e.attempt);
    case 'connected':
    case 'disconnected':
    case 'reconnected':
      return events.emit(e.name);
    case 'mailbox':
      return events.emit('mailbox', e.state);
    case 'mailbox-progress':
      return events.emit('mailbox-progress', { phase: e.phase, done: e.done, total: e.total });
    default: {
      const never: never = e;
      void never;
    }
  }
}
