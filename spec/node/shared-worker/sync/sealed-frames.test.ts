import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { MemoryReplica } from './memory-replica.js';
import { connect, errorsOf, makeNode, readyCount, type TestNode } from './net.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import type { LinkPair } from './memory-link.js';

let keys: RoomKeys;
beforeAll(async () => {
  keys = (await roomFor('room token')).keys;
});

async function readyPair(): Promise<{ a: TestNode<MemoryReplica>; b: TestNode<MemoryReplica>; pair: LinkPair }> {
  const mk = (i: number) => {
    const r = new MemoryReplica(nodeIdOf(i));
    r.defineTable('t', ['v']);
    return makeNode(`n${i}`, r, keys);
  };
  const a = mk(1);
  const b = mk(2);
  const pair = connect(a, b);
  await until(() => readyCount(a, b) === 1 && readyCount(b, a) === 1);
  await ticks();
  return { a, b, pair };
}

/** The last sealed frame `end` sent (auth frames are the first two). */
function lastSealed(frames: Uint8Array[]): Uint8Array {
  expect(frames.length).toBeGreaterThan(2);
  return frames[frames.length - 1]!;
}

describe('sealed frames', () => {
  it('a tampered frame drops the link (AUTH), nothing applied', async () => {
    const { a, b, pair } = await readyPair();
    pair.intercept = (from, frame) => {
      if (from === 'a') frame[frame.length - 5]! ^= 0x40;
      return [frame];
    };
    await a.replica.put('t', 'k', { v: 'x' });
    await until(() => pair.a.closed);
    expect(errorsOf(b, 'AUTH').length).toBe(1);
    expect(errorsOf(b, 'AUTH')[0]!.peerId).toBe(a.peerId);
    expect(b.replica.dump('t')).toEqual([]);
    expect(b.events.some((e) => e.type === 'peer-leave' && e.peerId === a.peerId)).toBe(true);
  });

  it('a replayed frame drops the link (AUTH)', async () => {
    const { a, b, pair } = await readyPair();
    await a.replica.put('t', 'k', { v: 'x' });
    await until(() => b.replica.dump('t').length === 1);
    await ticks();
    const replay = lastSealed(pair.a.sent);
    pair.inject('a', replay.slice());
    await until(() => pair.a.closed);
    expect(errorsOf(b, 'AUTH').length).toBe(1);
    expect(b.replica.dump('t').length).toBe(1);
  });

  it('a frame reflected back to its sender drops the link (AUTH)', async () => {
    const { a, pair } = await readyPair();
    await a.replica.put('t', 'k', { v: 'x' });
    await ticks();
    const own = lastSealed(pair.a.sent);
    pair.inject('b', own.slice()); // arrives at a as if b had sent it
    await until(() => pair.a.closed);
    expect(errorsOf(a, 'AUTH').length).toBe(1);
  });

  it('a frame from another session of the same two peers does not open (fresh nonces)', async () => {
    const first = await readyPair();
    await first.a.replica.put('t', 'k', { v: 'x' });
    await until(() => first.b.replica.dump('t').length === 1);
    const recorded = first.pair.a.sent.slice(2);
    first.pair.close();
    const second = await readyPair();
    // Same node ids, new link: the recorded frames are garbage under the new keys.
    second.pair.inject('a', recorded[0]!.slice());
    await until(() => second.pair.a.closed);
    expect(errorsOf(second.b, 'AUTH').length).toBe(1);
  });
});
