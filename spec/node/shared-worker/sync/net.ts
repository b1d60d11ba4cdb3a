/**
 * A test network: nodes (a replica + a SyncCoordinator + the events it emitted) joined by
 * in-memory link pairs that tests open, cut and tamper with.
 */
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { peerIdFor } from '../../../../shared-worker/protocol/ids.js';
import type { DurableReplica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createSyncCoordinator, type SyncCoordinator } from '../../../../shared-worker/sync/sync-coordinator.js';
import type { SyncEvent } from '../../../../shared-worker/sync/sync-events.js';
import type { SyncOptions } from '../../../../shared-worker/sync/sync-options.js';
import type { SyncTimers } from '../../../../shared-worker/sync/sync-timers.js';
import { createLinkPair, type LinkPair, type LinkPairOptions } from './memory-link.js';

export interface TestNode<R extends DurableReplica = DurableReplica> {
  name: string;
  replica: R;
  keys: RoomKeys;
  peerId: string;
  sync: SyncCoordinator;
  events: SyncEvent[];
}

export function makeNode<R extends DurableReplica>(
  name: string,
  replica: R,
  keys: RoomKeys,
  extra: { timers?: SyncTimers; options?: Partial<SyncOptions>; roomId?: string } = {},
): TestNode<R> {
  const events: SyncEvent[] = [];
  const peerId = peerIdFor(extra.roomId ?? keys.roomId, replica.nodeId);
  const sync = createSyncCoordinator({
    replica,
    keys,
    selfPeerId: peerId,
    emit: (e) => events.push(e),
    ...(extra.timers ? { timers: extra.timers } : {}),
    ...(extra.options ? { options: extra.options } : {}),
  });
  return { name, replica, keys, peerId, sync, events };
}

/** Links two nodes (`a` dials `b`) and hands each end to its coordinator. */
export function connect(a: TestNode, b: TestNode, options?: LinkPairOptions): LinkPair {
  const pair = createLinkPair(a.peerId, b.peerId, options);
  a.sync.addLink(pair.a);
  b.sync.addLink(pair.b);
  return pair;
}

export function errorsOf(n: TestNode, code?: string): Array<Extract<SyncEvent, { type: 'error' }>> {
  return n.events.filter((e): e is Extract<SyncEvent, { type: 'error' }> => e.type === 'error' && (code === undefined || e.code === code));
}

export function readyCount(n: TestNode, peer: TestNode): number {
  return n.events.filter((e) => e.type === 'peer-ready' && e.peerId === peer.peerId).length;
}

export function syncedFrom(n: TestNode, peer: TestNode): number {
  let c = 0;
  for (const e of n.events) if (e.type === 'sync' && e.peerId === peer.peerId) c += e.count;
  return c;
}
