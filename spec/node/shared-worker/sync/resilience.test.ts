import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { FakeTimers } from './fake-timers.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { MemoryReplica } from './memory-replica.js';
import { connect, errorsOf, makeNode, readyCount } from './net.js';
import { openRoguePeer } from './rogue-peer.js';
import type { PeerLink } from '../../../../shared-worker/protocol/peer-link.js';

let keys: RoomKeys;
beforeAll(async () => {
  keys = (await roomFor('resilience')).keys;
});

function replica(i: number): MemoryReplica {
  const r = new MemoryReplica(nodeIdOf(i));
  r.defineTable('t', ['v', 'w']);
  return r;
}

describe('sync resilience', () => {
  it('a delta cut off after its first piece loses nothing: the reconnect sends the rest', async () => {
    const a = makeNode('a', replica(1), keys, { options: { pieceRows: 1 } });
    // row1 written early and updated late, row2 in between: a delta in row order would carry the
    // late update first, and a receiver cut off there would claim to hold row2 already.
    await a.replica.put('t', 'row1', { v: 'early', w: 'early' });
    await a.replica.put('t', 'row2', { v: 'middle', w: 'middle' });
    await a.replica.put('t', 'row1', { v: 'late' });
    const bReplica = replica(2);
    const b = makeNode('b', bReplica, keys);
    let pairRef: ReturnType<typeof connect> | null = null;
    const apply = bReplica.applyChanges.bind(bReplica);
    let applies = 0;
    bReplica.applyChanges = async (cs) => {
      const r = await apply(cs);
      if (++applies === 1) pairRef?.close('cut after the first piece');
      return r;
    };
    pairRef = connect(a, b);
    await until(() => pairRef!.a.closed);
    await ticks();
    expect(applies).toBe(1);
    expect(b.replica.dump('t').length).toBeLessThan(2);
    connect(b, a);
    await until(() => JSON.stringify(b.replica.dump('t')) === JSON.stringify(a.replica.dump('t')));
    expect(b.replica.dump('t')).toEqual([JSON.stringify([['row1'], ['late', 'early']]), JSON.stringify([['row2'], ['middle', 'middle']])]);
  });

  it('pipelines a large delta in pieces, each applied (and acknowledged) as it arrives', async () => {
    const a = makeNode('a', replica(1), keys, { options: { pieceRows: 500 } });
    for (let batch = 0; batch < 10; batch++) {
      await a.replica.write('t', Array.from({ length: 500 }, (_, i) => [[`k${batch}-${i}`], { v: 'x'.repeat(50), w: i }]));
    }
    const b = makeNode('b', replica(2), keys);
    connect(a, b);
    await until(() => b.replica.dump('t').length === 5000);
    expect(b.replica.applyCalls).toBe(10);
    expect(b.events.filter((e) => e.type === 'sync').length).toBe(10);
    await until(() => a.replica.getPeerVector(b.replica.nodeId)?.[a.replica.nodeId] === a.replica.getVector()[a.replica.nodeId]);
  });

  it('a live batch larger than a message is sent in pieces, all applied', async () => {
    const a = makeNode('a', replica(1), keys, { options: { maxPieceBytes: 4_000 } });
    const b = makeNode('b', replica(2), keys);
    connect(a, b);
    await until(() => readyCount(b, a) === 1 && readyCount(a, b) === 1);
    const before = b.replica.applyCalls;
    await a.replica.write('t', Array.from({ length: 100 }, (_, i) => [[`big-${i}`], { v: 'y'.repeat(40), w: i }]));
    await until(() => b.replica.dump('t').length === 100);
    expect(b.replica.applyCalls - before).toBeGreaterThan(5);
    expect(errorsOf(b)).toEqual([]);
  });

  it('closes a silent link after the missed heartbeats (peer-leave) and keeps a quiet healthy one', async () => {
    const timers = new FakeTimers();
    const a = makeNode('a', replica(1), keys, { timers });
    const b = makeNode('b', replica(2), keys, { timers });
    const c = makeNode('c', replica(3), keys, { timers });
    const ab = connect(a, b);
    const ac = connect(a, c);
    await until(() => readyCount(a, b) === 1 && readyCount(a, c) === 1 && readyCount(b, a) === 1 && readyCount(c, a) === 1);
    await ticks();
    ab.intercept = (from, f) => (from === 'b' ? [] : [f]); // b goes silent
    // Defaults: a ping every 5 s, closed after 30 s of silence.
    for (let i = 0; i < 19; i++) {
      timers.advance(1_500);
      await ticks(5);
    }
    expect(ab.a.closed).toBe(false);
    for (let i = 0; i < 8; i++) {
      timers.advance(1_500);
      await ticks(5);
    }
    expect(ab.a.closed).toBe(true);
    expect(a.events).toContainEqual({ type: 'peer-leave', peerId: b.peerId });
    expect(ac.a.closed).toBe(false);
    expect(a.sync.peers()).toEqual([c.peerId]);
    expect(errorsOf(a)).toEqual([]);
  });

  it('two links between the same peers (both dialed): one survives, one peer-ready and no peer-leave', async () => {
    const a = makeNode('a', replica(1), keys);
    const b = makeNode('b', replica(2), keys);
    const ab = connect(a, b);
    const ba = connect(b, a);
    await until(() => ab.a.closed !== ba.a.closed);
    // The survivor is the link dialed by the smaller peer id, on both sides.
    expect(ab.a.closed).toBe(a.peerId > b.peerId);
    await a.replica.put('t', 'k', { v: 'over the survivor' });
    await until(() => b.replica.dump('t').length === 1);
    for (const [n, other] of [[a, b], [b, a]] as const) {
      expect(readyCount(n, other)).toBe(1);
      expect(n.events.filter((e) => e.type === 'peer-leave')).toEqual([]);
      expect(n.sync.peers()).toEqual([other.peerId]);
      expect(errorsOf(n)).toEqual([]);
    }
  });

  it('a second link dialed by the same side (its tab restarted) replaces the first only once it is authenticated', async () => {
    const a = makeNode('a', replica(1), keys);
    const b = makeNode('b', replica(2), keys);
    const first = connect(a, b);
    await until(() => readyCount(b, a) === 1 && readyCount(a, b) === 1);
    // a restarted: a fresh node with a's id dials b again.
    const a2 = makeNode('a2', replica(1), keys);
    const second = connect(a2, b);
    await until(() => first.a.closed);
    expect(second.a.closed).toBe(false);
    await a2.replica.put('t', 'k', { v: 'over the new link' });
    await until(() => b.replica.dump('t').length === 1);
    expect(b.events.filter((e) => e.type === 'peer-leave')).toEqual([]);
    expect(b.sync.peers()).toEqual([a.peerId]);
    expect(errorsOf(b)).toEqual([]);
  });

  it('a second link from the same id that fails authentication leaves the working link alone', async () => {
    const a = makeNode('a', replica(1), keys);
    const b = makeNode('b', replica(2), keys);
    const first = connect(a, b);
    await until(() => readyCount(b, a) === 1 && readyCount(a, b) === 1);
    // Someone who knows the room id (not the token) connects under a's peer id.
    const guessed = { ...(await roomFor('not the token')).keys, roomId: keys.roomId };
    const impostor = makeNode('impostor', replica(1), guessed);
    const fake = connect(impostor, b);
    await until(() => fake.a.closed);
    expect(first.a.closed).toBe(false);
    await a.replica.put('t', 'k', { v: 'still over the first link' });
    await until(() => b.replica.dump('t').length === 1);
    expect(b.events.filter((e) => e.type === 'peer-leave')).toEqual([]);
    expect(b.sync.peers()).toEqual([a.peerId]);
  });

  it('removeAll says bye: the other side sees peer-leave at once', async () => {
    const a = makeNode('a', replica(1), keys);
    const b = makeNode('b', replica(2), keys);
    const pair = connect(a, b);
    await until(() => readyCount(b, a) === 1 && readyCount(a, b) === 1);
    a.sync.removeAll();
    await until(() => pair.a.closed);
    expect(b.events).toContainEqual({ type: 'peer-leave', peerId: a.peerId });
    expect(a.events).toContainEqual({ type: 'peer-leave', peerId: b.peerId });
    expect(errorsOf(b)).toEqual([]);
  });

  it('a QUOTA refusal from the replica is reported and closes only that link', async () => {
    const a = makeNode('a', replica(1), keys);
    const b = makeNode('b', replica(2), keys);
    connect(a, b);
    await until(() => readyCount(b, a) === 1 && readyCount(a, b) === 1);
    const { BatteryError } = await import('../../../../shared-worker/protocol/errors.js');
    b.replica.failNextApply = new BatteryError('QUOTA', 'storage full');
    await a.replica.put('t', 'k', { v: 'x' });
    await until(() => errorsOf(b, 'QUOTA').length === 1);
    expect(b.replica.dump('t')).toEqual([]);
  });
});

describe('flow control', () => {
  it('a sender keeps at most sendWindow data messages ahead of a stalled receiver', async () => {
    const a = makeNode('a', replica(1), keys, { options: { pieceRows: 1, sendWindow: 3 } });
    for (let i = 0; i < 30; i++) await a.replica.put('t', `k${i}`, { v: 'x' });
    const slow = replica(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const apply = slow.applyChanges.bind(slow);
    slow.applyChanges = async (cs) => {
      await gate;
      return apply(cs);
    };
    const b = makeNode('b', slow, keys);
    const pair = connect(a, b);
    await until(() => readyCount(b, a) === 1 && readyCount(a, b) === 1);
    // challenge + proof + hello + 3 pieces (one frame each) + the ack of b's empty delta:
    // the other 27 rows wait for b's acks. Waited for (a loaded machine may take longer than any
    // fixed number of ticks to seal them), then a while longer for a frame beyond the window.
    await until(() => pair.a.sent.length >= 7);
    await ticks(50);
    expect(pair.a.sent.length).toBe(7);
    release();
    await until(() => b.replica.dump('t').length === 30);
    expect(errorsOf(a)).toEqual([]);
  });
});

describe('a peer that ignores flow control', () => {
  const WINDOW = 8;
  let hlc = 1_000;
  const liveBatch = (nodeId: string, i: number) => {
    hlc++;
    return { t: 'live', madeAt: {}, changes: { nodes: [nodeId], tables: [{ table: 't', columns: ['v', 'w'], rows: [{ pk: [`k${i}`], put: [hlc, 0], del: null, cells: [[0, 'x'.repeat(1000), hlc, 0]] }] }] } };
  };

  /** The target's end of the link, reporting a full send buffer while `stalled` (the peer reads nothing). */
  function stallable() {
    const state = { stalled: true, drains: [] as Array<() => void> };
    const wrap = (link: PeerLink): PeerLink => ({
      ...link,
      send: (f) => link.send(f),
      bufferedAmount: () => (state.stalled ? 1e12 : link.bufferedAmount()),
      onDrain: (l) => { state.drains.push(l); link.onDrain(l); },
      onFrame: (l) => link.onFrame(l),
      onClose: (l) => link.onClose(l),
      close: (r) => link.close(r),
    });
    const release = () => {
      state.stalled = false;
      for (const l of state.drains) l();
    };
    return { wrap, release };
  }

  it('more data messages than sendWindow ahead of our acks: BAD_OP, only that link closes', async () => {
    const slow = replica(1);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const apply = slow.applyChanges.bind(slow);
    let applies = 0;
    slow.applyChanges = async (cs) => {
      applies++;
      await gate;
      return apply(cs);
    };
    const t = makeNode('t', slow, keys, { options: { sendWindow: WINDOW } });
    const honest = makeNode('h', replica(2), keys);
    connect(t, honest);
    await until(() => readyCount(t, honest) === 1);
    const rogue = await openRoguePeer(t, keys, nodeIdOf(9));
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) sends.push(rogue.send(liveBatch(rogue.nodeId, i)));
    await Promise.allSettled(sends);
    await until(() => rogue.closed());
    expect(errorsOf(t).filter((e) => e.peerId === rogue.peerId).map((e) => [e.code, e.detail])).toEqual([['BAD_OP', { limit: 'sendWindow' }]]);
    release();
    await ticks(20);
    // What was queued before the refusal is at most the window and its margin.
    expect(applies).toBeLessThanOrEqual(WINDOW + 4);
    expect(t.sync.peers()).toEqual([honest.peerId]);
  });

  it('a peer that pings without reading gets one queued pong, not one per ping', async () => {
    const t = makeNode('t', replica(1), keys);
    const link = stallable();
    const rogue = await openRoguePeer(t, keys, nodeIdOf(9), undefined, { wrapTargetLink: link.wrap });
    for (let n = 0; n < 500; n++) await rogue.send({ t: 'ping', n });
    // The target handles frames in order: once this batch is applied, every ping before it has been
    // answered or coalesced (a fixed wait would race the decryption of the pings on a loaded machine).
    await rogue.send(liveBatch(rogue.nodeId, 0));
    await until(() => t.replica.dump('t').length === 1);
    expect(rogue.closed()).toBe(false);
    link.release();
    await until(() => rogue.received.some((m) => (m as { t: string }).t === 'pong'));
    await ticks(20);
    expect(rogue.received.filter((m) => (m as { t: string }).t === 'pong').length).toBe(1);
    expect(errorsOf(t)).toEqual([]);
  });

  it('a peer that sends data but never reads our acks is closed once the writer queue is full (BAD_OP)', async () => {
    const t = makeNode('t', replica(1), keys);
    const link = stallable();
    const rogue = await openRoguePeer(t, keys, nodeIdOf(9), undefined, { wrapTargetLink: link.wrap });
    // One at a time, each handled before the next: the receive window never fills; the acks pile up.
    for (let i = 0; i < 200 && !rogue.closed(); i++) {
      await rogue.send(liveBatch(rogue.nodeId, i)).catch(() => {}); // CLOSED once refused
      await ticks(2);
    }
    expect(rogue.closed()).toBe(true);
    expect(errorsOf(t).map((e) => [e.code, e.detail])).toEqual([['BAD_OP', { limit: 'writeQueue' }]]);
  });
});
