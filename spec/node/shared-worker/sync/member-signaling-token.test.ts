import { describe, expect, it } from 'vitest';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { memberSignalingToken } from '../../../../shared-worker/sync/member-signaling-token.js';

const ROOM_A = 'a'.repeat(32);
const ROOM_B = 'b'.repeat(32);

const open = (store: MemoryKeyValueStore, nodeId: string) =>
  openDurableReplica({ store, createReplica, replicaOptions: { nodeId }, warn: () => {} });

describe('member signaling token', () => {
  it('is the same for one replica after a reopen, different per room, and unknown to another member of the room', async () => {
    const store = new MemoryKeyValueStore();
    const replica = await open(store, '0123456789abcdef');
    const first = await memberSignalingToken(replica, ROOM_A);
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(await memberSignalingToken(replica, ROOM_A)).toBe(first);
    expect(await memberSignalingToken(replica, ROOM_B)).not.toBe(first);
    await replica.close();

    const reopened = await open(store.reopen(), '0123456789abcdef');
    expect(await memberSignalingToken(reopened, ROOM_A)).toBe(first);
    await reopened.close();

    // Another member of the same room (same room id, its own replica) cannot present this token,
    // so the signaling server's hold on a departed member's id is that member's alone.
    const other = await open(new MemoryKeyValueStore(), 'fedcba9876543210');
    expect(await memberSignalingToken(other, ROOM_A)).not.toBe(first);
    await other.close();
  });

  it('two connects racing on a fresh replica agree on one secret, and it is the one stored', async () => {
    const store = new MemoryKeyValueStore();
    const replica = await open(store, '0123456789abcdee');
    const [a, b] = await Promise.all([memberSignalingToken(replica, ROOM_A), memberSignalingToken(replica, ROOM_A)]);
    expect(a).toBe(b);
    await replica.close();
    const reopened = await open(store.reopen(), '0123456789abcdee');
    expect(await memberSignalingToken(reopened, ROOM_A)).toBe(a);
    await reopened.close();
  });
});
