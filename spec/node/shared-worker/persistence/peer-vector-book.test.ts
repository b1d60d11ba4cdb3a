import { describe, expect, it } from 'vitest';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { MAX_STORED_PEER_VECTOR_ENTRIES, MAX_STORED_PEER_VECTORS, PeerVectorBook } from '../../../../shared-worker/persistence/peer-vector-book.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

const peer = (i: number) => `e${i.toString(16).padStart(15, '0')}`;

describe('PeerVectorBook', () => {
  it('evicts the least recently written peer past the count; a rewrite makes a peer recent again', () => {
    const book = new PeerVectorBook(new Map());
    for (let i = 0; i < MAX_STORED_PEER_VECTORS; i++) expect(book.set(peer(i), { [peer(i)]: 1 })).toEqual([]);
    expect(book.set(peer(0), { [peer(0)]: 2 })).toEqual([]);
    expect(book.set(peer(MAX_STORED_PEER_VECTORS), {})).toEqual([peer(1)]);
    expect(book.get(peer(0))).toEqual({ [peer(0)]: 2 });
    expect(book.get(peer(1))).toBeUndefined();
  });

  it('evicts by total entries, never the vector being written, never a name that is not a node id', () => {
    const big = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i.toString(16).padStart(15, '0')}`, 1]));
    const book = new PeerVectorBook(new Map([['mailbox:x', big(10)]]));
    const quarter = MAX_STORED_PEER_VECTOR_ENTRIES / 4;
    for (let i = 0; i < 4; i++) expect(book.set(peer(i), big(quarter))).toEqual([]);
    expect(book.set(peer(4), big(1))).toEqual([peer(0)]);
    expect(book.set(peer(3), big(quarter + 1))).toEqual([]); // replaces its own entries
    expect(book.set(peer(5), big(quarter))).toEqual([peer(1)]);
    expect(book.set(peer(6), big(MAX_STORED_PEER_VECTOR_ENTRIES / 2))).toEqual([peer(2), peer(4), peer(3)]);
    expect(book.get('mailbox:x')).toBeDefined();
  });

  it('a vector evicted in the same write group it was stored in stays deleted (stores apply deletes first)', async () => {
    const store = new MemoryKeyValueStore();
    const d = await openDurableReplica({ store, createReplica, replicaOptions: { nodeId: 'd000000000000002' }, warn: () => {} });
    await Promise.all(Array.from({ length: MAX_STORED_PEER_VECTORS + 1 }, (_, i) => d.setPeerVector(peer(i), { [peer(i)]: 1 })));
    await d.close();
    const keys = await store.reopen().keys('peer:');
    expect(keys).toHaveLength(MAX_STORED_PEER_VECTORS);
    expect(keys).not.toContain(`peer:${peer(0)}`);
  });
});
