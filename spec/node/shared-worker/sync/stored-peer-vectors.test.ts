/**
 * Issue 11, "bounded per-peer state": the vectors a replica stores for its peers are bounded in
 * number and in entries, not only each on its own. A room member that connects under ever new
 * node ids, acknowledging with a full 100 000-entry vector each time, used to add one stored
 * vector per connection (all kept in memory and loaded at every open) without end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { MAX_STORED_PEER_VECTOR_ENTRIES, MAX_STORED_PEER_VECTORS } from '../../../../shared-worker/persistence/peer-vector-book.js';
import { MAX_VECTOR_ENTRIES } from '../../../../shared-worker/protocol/limits.js';
import type { VersionVector } from '../../../../shared-worker/replica/contracts/version-vector.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { roomFor, until } from './helpers.js';
import { makeNode, type TestNode } from './net.js';
import { openRoguePeer } from './rogue-peer.js';

const VICTIM = 'd000000000000001';
/** Node ids no test node uses. */
const rogueId = (i: number) => `e${i.toString(16).padStart(15, '0')}`;
const invented = (batch: number, i: number) => `f${batch.toString(16).padStart(5, '0')}${i.toString(16).padStart(10, '0')}`;

function inventedVector(batch: number, entries: number): VersionVector {
  const v: VersionVector = {};
  for (let i = 0; i < entries; i++) v[invented(batch, i)] = 5;
  return v;
}

/** What the store holds under `peer:` keys: how many vectors and how many entries in all. */
async function storedPeers(store: MemoryKeyValueStore): Promise<{ count: number; entries: number; names: string[] }> {
  const keys = await store.keys('peer:');
  const values = await store.getMany<VersionVector>(keys);
  return { count: keys.length, entries: values.reduce((n, v) => n + Object.keys(v ?? {}).length, 0), names: keys.map((k) => k.slice(5)) };
}

describe('stored peer vectors are bounded', () => {
  let keys: RoomKeys;
  beforeAll(async () => {
    keys = (await roomFor('stored peer vectors')).keys;
  });

  async function victim(store: MemoryKeyValueStore): Promise<TestNode<DurableReplicaHandle>> {
    const replica = await openDurableReplica({ store, createReplica, replicaOptions: { nodeId: VICTIM }, warn: () => {} });
    return makeNode('victim', replica, keys);
  }

  /** One connection under node id `rogueId(i)` that acknowledges the victim's delta with `vector`. */
  async function connectAndAck(v: TestNode<DurableReplicaHandle>, i: number, vector: VersionVector): Promise<void> {
    const rogue = await openRoguePeer(v, keys, rogueId(i));
    await rogue.send({ t: 'ping', n: 0 });
    await until(() => rogue.received.some((m) => (m as { t: string }).t === 'delta'));
    await rogue.send({ t: 'ack', vector, handled: 1 });
    await until(() => v.replica.getPeerVector(rogue.nodeId) !== undefined);
  }

  it(`in entries: six connections acking with ${MAX_VECTOR_ENTRIES} invented ids each keep at most ${MAX_STORED_PEER_VECTOR_ENTRIES}, the oldest go`, async () => {
    const store = new MemoryKeyValueStore();
    const v = await victim(store);
    for (let i = 0; i < 6; i++) await connectAndAck(v, i, inventedVector(i, MAX_VECTOR_ENTRIES));
    v.sync.close();
    await v.replica.close();
    const after = store.reopen();
    const stored = await storedPeers(after);
    expect(stored.entries).toBeLessThanOrEqual(MAX_STORED_PEER_VECTOR_ENTRIES);
    expect(stored.names).toEqual([2, 3, 4, 5].map(rogueId));
    // The newest one is whole.
    const reopened = await openDurableReplica({ store: after, createReplica, replicaOptions: { nodeId: VICTIM }, warn: () => {} });
    expect(Object.keys(reopened.getPeerVector(rogueId(5))!)).toHaveLength(MAX_VECTOR_ENTRIES);
    expect(reopened.getPeerVector(rogueId(0))).toBeUndefined();
    await reopened.close();
  }, 120_000); // a hang guard: 600k vector entries through seal, decode and the store

  it(`in number: ${MAX_STORED_PEER_VECTORS + 20} connections under new node ids keep at most ${MAX_STORED_PEER_VECTORS} vectors; the mailbox cursor stays`, async () => {
    const store = new MemoryKeyValueStore();
    const v = await victim(store);
    // The mailbox attachment keeps its cursor under a name that is not a node id.
    await v.replica.setPeerVector('mailbox:ws://127.0.0.1/mailbox', { '~seq': 7 });
    for (let i = 0; i < MAX_STORED_PEER_VECTORS + 20; i++) await connectAndAck(v, i, { [invented(0, i)]: 5 });
    v.sync.close();
    await v.replica.close();
    const stored = await storedPeers(store.reopen());
    expect(stored.count).toBe(MAX_STORED_PEER_VECTORS + 1);
    expect(stored.names).toContain('mailbox:ws://127.0.0.1/mailbox');
    expect(stored.names).toContain(rogueId(MAX_STORED_PEER_VECTORS + 19));
    expect(stored.names).not.toContain(rogueId(19));
  }, 120_000);
});
