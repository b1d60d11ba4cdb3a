/** The durable replica the sync and mailbox benches fill and copy: `items` synced, in memory. */
import { openDurableReplica } from '../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../shared-worker/persistence/memory-kv-store.js';
import type { DurableReplica } from '../shared-worker/replica/contracts/replica-types.js';
import { createReplica } from '../shared-worker/replica/replica.js';

export async function openItemsReplica(nodeId: string): Promise<DurableReplica> {
  const r = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica, replicaOptions: { nodeId }, warn: () => {} });
  await r.exec('CREATE TABLE items (id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER, note TEXT)');
  await r.enableSync('items');
  return r;
}
