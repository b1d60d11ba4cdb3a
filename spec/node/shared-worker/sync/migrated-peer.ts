/**
 * A peer of the mixed-version specs: a durable replica on storage `data` (a reload reopens the
 * same Map) that ran an app's migration list with DurableReplica.migrate (what connectBattery's
 * `migrations` runs) and syncs `notes` and `tags`, as a sync test node.
 */
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { makeNode, type TestNode } from './net.js';

export type MigratedPeer = TestNode<DurableReplicaHandle> & { data: Map<string, unknown>; nodeId: string };

export async function migratedPeer(keys: RoomKeys, label: string, nodeId: string, steps: string[], data = new Map<string, unknown>()): Promise<MigratedPeer> {
  const replica = await openDurableReplica({
    store: new MemoryKeyValueStore({ data }), createReplica: (o) => createReplica({ ...o, nodeId }), warn: () => {},
  });
  await replica.migrate(steps);
  for (const t of ['notes', 'tags']) await replica.enableSync(t);
  return Object.assign(makeNode(label, replica, keys), { data, nodeId });
}
