/**
 * Issue 11, findings 2 and 4: what one peer can make us hold is capped at what an honest hello
 * may carry (PEER_LIMITS.maxVectorEntries node ids), acks come once per data message we sent, and the
 * stored peer vector is written at most once per PEER_VECTOR_PERSIST_MS, not per ack.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { PEER_VECTOR_PERSIST_MS } from '../../../../shared-worker/sync/peer-session.js';
import { PEER_LIMITS } from '../../../../shared-worker/sync/peer-protocol.js';
import type { VersionVector } from '../../../../shared-worker/replica/contracts/version-vector.js';
import { FakeTimers } from './fake-timers.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { MemoryReplica } from './memory-replica.js';
import { connect, errorsOf, makeNode, readyCount } from './net.js';
import { openRoguePeer } from './rogue-peer.js';

let keys: RoomKeys;
beforeAll(async () => {
  keys = (await roomFor('per-peer bounds')).keys;
});

function replica(i: number): MemoryReplica {
  const r = new MemoryReplica(nodeIdOf(i));
  r.defineTable('t', ['v']);
  return r;
}

/** 16 hex chars that no test node uses: `batch` and `i` make each one distinct. */
const invented = (batch: number, i: number) => `f${batch.toString(16).padStart(5, '0')}${i.toString(16).padStart(10, '0')}`;

/** One row per invented node id, each stamped by its own node (what raises a vector entry per id). */
function bloatBatch(batch: number, ids: number): ChangeSet {
  const nodes = Array.from({ length: ids }, (_, i) => invented(batch, i));
  const rows = nodes.map((_, i) => ({ pk: [`b${batch}-${i}`], put: [1_000 + i, i] as [number, number], del: null, cells: [] }));
  return { nodes, tables: [{ table: 't', columns: ['v'], rows }] };
}

function inventedVector(batch: number, entries: number): VersionVector {
  const v: VersionVector = {};
  for (let i = 0; i < entries; i++) v[invented(batch, i)] = 5;
  return v;
}

describe('bounded per-peer state', () => {
  it('11 batches of 10k invented node ids: the sender loses its link, the victim stays within a hello, which honest peers still take', async () => {
    const victim = makeNode('victim', replica(1), keys);
    await victim.replica.put('t', 'mine', { v: 'victim data' });
    const rogue = await openRoguePeer(victim, keys, nodeIdOf(9));
    for (let b = 0; b < 11 && !rogue.closed(); b++) {
      await rogue.send({ t: 'live', madeAt: {}, changes: bloatBatch(b, 10_000) }).catch(() => {}); // CLOSED once refused
      await until(() => rogue.closed() || rogue.received.filter((m) => (m as { t: string }).t === 'ack').length >= b + 2);
    }
    await until(() => rogue.closed());
    expect(errorsOf(victim).map((e) => [e.peerId, e.code, e.detail])).toEqual([[rogue.peerId, 'BAD_OP', { limit: 'nodes' }]]);
    expect(Object.keys(victim.replica.getVector()).length).toBeLessThanOrEqual(PEER_LIMITS.maxVectorEntries);

    // An honest peer still takes the victim's hello (it refuses one above the cap with BAD_OP).
    const honest = makeNode('honest', replica(2), keys);
    connect(honest, victim);
    await until(() => readyCount(honest, victim) === 1 || errorsOf(honest).length > 0);
    expect(errorsOf(honest)).toEqual([]);
    honest.sync.close();
    victim.sync.close();
  }, 120_000); // a hang guard: 110k rows through the memory twin take ~20 s on a loaded machine

  it('ack vectors of 100k invented node ids each: the second closes the link instead of growing the stored vector', async () => {
    const victim = makeNode('victim', replica(1), keys);
    const rogue = await openRoguePeer(victim, keys, nodeIdOf(9));
    await rogue.send({ t: 'ping', n: 0 }); // hello and its delta answer
    await until(() => victim.sync.peers().length === 1);
    await victim.replica.put('t', 'row', { v: 'x' }); // a second data message to the rogue: two acks are its due
    await until(() => rogue.received.filter((m) => (m as { t: string }).t === 'live' || (m as { t: string }).t === 'delta').length >= 2);
    await rogue.send({ t: 'ack', vector: inventedVector(0, 100_000), handled: 1 });
    await rogue.send({ t: 'ack', vector: inventedVector(1, 100_000), handled: 2 }).catch(() => {});
    await until(() => rogue.closed());
    expect(errorsOf(victim).map((e) => [e.code, e.detail])).toEqual([['BAD_OP', { limit: 'vector' }]]);
    await until(() => victim.replica.getPeerVector(rogue.nodeId) !== undefined);
    expect(Object.keys(victim.replica.getPeerVector(rogue.nodeId)!).length).toBeLessThanOrEqual(PEER_LIMITS.maxVectorEntries);
  }, 120_000);

  it('acks beyond the data messages we sent close the link (acks are paced like data)', async () => {
    const victim = makeNode('victim', replica(1), keys);
    const rogue = await openRoguePeer(victim, keys, nodeIdOf(9));
    await rogue.send({ t: 'ping', n: 0 });
    await until(() => victim.sync.peers().length === 1);
    await until(() => rogue.received.some((m) => (m as { t: string }).t === 'delta'));
    // We sent one data message (the delta answer); a flood of acks owes us nothing.
    for (let n = 1; n <= 8 && !rogue.closed(); n++) await rogue.send({ t: 'ack', vector: {}, handled: n }).catch(() => {});
    await until(() => rogue.closed());
    expect(errorsOf(victim).map((e) => [e.code, e.detail])).toEqual([['BAD_OP', { limit: 'acks' }]]);
  });

  it(`the stored peer vector is written at most once per ${PEER_VECTOR_PERSIST_MS} ms, not per ack, and once more on close`, async () => {
    const timers = new FakeTimers();
    const a = makeNode('a', replica(1), keys, { timers });
    const b = makeNode('b', replica(2), keys, { timers });
    let writes = 0;
    const set = a.replica.setPeerVector.bind(a.replica);
    a.replica.setPeerVector = (node, v) => {
      writes++;
      return set(node, v);
    };
    connect(a, b);
    await until(() => readyCount(a, b) === 1 && readyCount(b, a) === 1);
    for (let i = 0; i < 30; i++) {
      await a.replica.put('t', `r${i}`, { v: String(i) });
      await until(() => b.replica.dump('t').length === i + 1);
    }
    await ticks(20);
    expect(writes).toBe(1); // the first ack; the 30 after it wait for the interval
    timers.advance(PEER_VECTOR_PERSIST_MS);
    await ticks(5);
    expect(writes).toBe(2);
    expect(a.replica.getPeerVector(b.replica.nodeId)?.[a.replica.nodeId]).toBe(a.replica.getVector()[a.replica.nodeId]);
    await a.replica.put('t', 'last', { v: 'x' });
    await until(() => b.replica.dump('t').length === 31);
    await ticks(20);
    a.sync.close();
    expect(writes).toBe(3); // the pending write is flushed when the link closes
  });
});
