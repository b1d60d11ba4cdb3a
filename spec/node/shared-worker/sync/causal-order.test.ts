import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { nodeIdOf, roomFor, until } from './helpers.js';
import { MemoryReplica } from './memory-replica.js';
import { errorsOf, makeNode } from './net.js';
import { openRoguePeer } from './rogue-peer.js';

let keys: RoomKeys;
beforeAll(async () => {
  keys = (await roomFor('causal')).keys;
});

describe('causal order of live batches', () => {
  it('a live batch made on changes the receiver lacks is not applied: it asks (need) and applies the delta', async () => {
    const r = new MemoryReplica(nodeIdOf(1));
    r.defineTable('t', ['v', 'w']);
    const target = makeNode('target', r, keys);
    const rogue = await openRoguePeer(target, keys, nodeIdOf(2));
    const other = nodeIdOf(3);
    const now = Date.now();
    const batch = { nodes: [rogue.nodeId], tables: [{ table: 't', columns: ['v', 'w'], rows: [{ pk: ['late'], put: [now, 0], del: null, cells: [[0, 'late', now, 0]] }] }] };
    // Made on top of node 3's change at now-10, which the target has never seen.
    await rogue.send({ t: 'live', madeAt: { [other]: now - 10 }, changes: batch });
    await until(() => rogue.received.some((m) => (m as { t: string }).t === 'need'));
    expect(rogue.received.find((m) => (m as { t: string }).t === 'need')).toEqual({ t: 'need', since: {} });
    expect(r.dump('t')).toEqual([]);
    // The answer holds the missing change and the batch, in stamp order.
    const missing = { nodes: [other], tables: [{ table: 't', columns: ['v', 'w'], rows: [{ pk: ['early'], put: [now - 10, 0], del: null, cells: [[0, 'early', now - 10, 0]] }] }] };
    await rogue.send({ t: 'delta', changes: missing, last: false, upTo: null });
    await rogue.send({ t: 'delta', changes: batch, last: true, upTo: { [other]: now - 10, [rogue.nodeId]: now } });
    await until(() => r.dump('t').length === 2);
    // One ack per data message: our empty hello-delta, the deferred live batch, the two pieces.
    const acks = () => rogue.received.filter((m) => (m as { t: string }).t === 'ack');
    await until(() => acks().length === 4);
    expect(acks().map((a) => (a as { handled: number }).handled)).toEqual([1, 2, 3, 4]);
    expect(acks()[3]).toEqual({ t: 'ack', vector: { [other]: now - 10, [rogue.nodeId]: now }, handled: 4 });
    // Covered now: the next live batch applies directly.
    await rogue.send({ t: 'live', madeAt: { [other]: now - 10, [rogue.nodeId]: now }, changes: { ...batch, tables: [{ ...batch.tables[0]!, rows: [{ pk: ['next'], put: [now + 1, 0], del: null, cells: [] }] }] } });
    await until(() => r.dump('t').length === 3);
    expect(errorsOf(target)).toEqual([]);
  });

  it('a delta nobody asked for is refused (BAD_OP)', async () => {
    const r = new MemoryReplica(nodeIdOf(4));
    r.defineTable('t', ['v', 'w']);
    const target = makeNode('target', r, keys);
    const rogue = await openRoguePeer(target, keys, nodeIdOf(5));
    await rogue.send({ t: 'delta', changes: { nodes: [], tables: [] }, last: true, upTo: {} });
    await until(() => rogue.closed());
    expect(errorsOf(target, 'BAD_OP').length).toBe(1);
  });
});
