/**
 * Durable peers on app version 1 (`notes`) or 2 (`notes` and a new synced table `lists`), for the
 * new-table rollout tests: opened, migrated and enabled as connectBattery's `migrations` and an
 * app's enableSync calls would, each with its sync coordinator; reloaded (clean close) or crashed
 * (storage as it stands, nothing flushed) onto the same storage.
 */
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import type { SyncOptions } from '../../../../shared-worker/sync/sync-options.js';
import { makeNode, type TestNode } from './net.js';

export const V1 = ['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)'];
export const V2 = [...V1, 'CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT, pos INTEGER)'];

export type Peer = TestNode<DurableReplicaHandle> & { data: Map<string, unknown>; nodeId: string; steps: string[] };

export async function openPeer(keys: RoomKeys, steps: string[], nodeId: string, data = new Map<string, unknown>(), options?: Partial<SyncOptions>): Promise<Peer> {
  const replica = await openDurableReplica({
    store: new MemoryKeyValueStore({ data }), createReplica: (o) => createReplica({ ...o, nodeId }), warn: () => {},
  });
  await replica.migrate(steps);
  for (const t of steps.length > 1 ? ['notes', 'lists'] : ['notes']) await replica.enableSync(t);
  return Object.assign(makeNode(`p-${nodeId}`, replica, keys, options ? { options } : {}), { data, nodeId, steps });
}

/** The same browser after a reload (clean close) with the app's (possibly newer) list. */
export async function reload(p: Peer, steps: string[], options?: Partial<SyncOptions>): Promise<Peer> {
  p.sync.close();
  await p.replica.close();
  return openPeer(p.keys, steps, p.nodeId, p.data, options);
}

/** The same browser after a crash: what its storage held at this instant, nothing flushed on the way out. */
export function crash(p: Peer, steps: string[], options?: Partial<SyncOptions>): Promise<Peer> {
  p.sync.close();
  return openPeer(p.keys, steps, p.nodeId, new Map(p.data), options);
}
