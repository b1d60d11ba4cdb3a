import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { createLinkPair } from './memory-link.js';
import { MemoryReplica } from './memory-replica.js';
import { FakeTimers } from './fake-timers.js';
import { connect, errorsOf, makeNode, readyCount } from './net.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';

let keys: RoomKeys;
let otherKeys: RoomKeys;
beforeAll(async () => {
  keys = (await roomFor('room token')).keys;
  otherKeys = (await roomFor('wrong token')).keys;
});

const CHALLENGE = 83;
const PROOF = 33;

function challengeFrame(peerId: string): Uint8Array {
  const f = new Uint8Array(CHALLENGE);
  f[0] = 1;
  f[1] = 1;
  f.set(new TextEncoder().encode(peerId), 34);
  return f;
}

function replica(i: number) {
  const r = new MemoryReplica(nodeIdOf(i));
  r.defineTable('t', ['v']);
  return r;
}

describe('mutual link authentication', () => {
  it('succeeds in both dial directions', async () => {
    for (const aDials of [true, false]) {
      const a = makeNode('a', replica(1), keys);
      const b = makeNode('b', replica(2), keys);
      const pair = aDials ? connect(a, b) : connect(b, a);
      await until(() => readyCount(a, b) === 1 && readyCount(b, a) === 1);
      expect(errorsOf(a)).toEqual([]);
      expect(errorsOf(b)).toEqual([]);
      // Each side sent its challenge and proof first, then only sealed frames (header + GCM tag > 33 bytes).
      for (const end of [pair.a, pair.b]) {
        expect(end.sent[0]!.length).toBe(CHALLENGE);
        expect(end.sent[1]!.length).toBe(PROOF);
      }
      a.sync.close();
      b.sync.close();
    }
  });

  it('fails with a wrong token: AUTH, link closed, nothing but the challenge and proof ever sent', async () => {
    const honest = makeNode('honest', replica(1), keys);
    await honest.replica.put('t', 'k', { v: 'secret' });
    // The hostile peer knows the room id (it is public) but not the token.
    const hostileKeys = { roomId: keys.roomId, authKey: otherKeys.authKey, encKey: otherKeys.encKey };
    const hostile = makeNode('hostile', replica(2), hostileKeys);
    for (const pair of [connect(honest, hostile), connect(hostile, honest)]) {
      await until(() => pair.a.closed);
      await ticks();
      const honestEnd = pair.a.remotePeerId === hostile.peerId ? pair.a : pair.b;
      // Whoever checks a proof first hangs up; the honest side never gets further than its proof.
      expect([[CHALLENGE], [CHALLENGE, PROOF]]).toContainEqual(honestEnd.sent.map((f) => f.length));
    }
    expect(errorsOf(honest).length + errorsOf(hostile).length).toBeGreaterThanOrEqual(2);
    expect([...errorsOf(honest), ...errorsOf(hostile)].every((e) => e.code === 'AUTH')).toBe(true);
    expect(errorsOf(honest).every((e) => e.peerId === hostile.peerId)).toBe(true);
    expect(readyCount(honest, hostile) + readyCount(hostile, honest)).toBe(0);
    expect(hostile.replica.dump('t')).toEqual([]);
    expect(honest.replica.applyCalls + hostile.replica.applyCalls).toBe(0);
  });

  it('refuses a peer whose claimed id differs from the link or is outside the room', async () => {
    const a = makeNode('a', replica(1), keys);
    const liar = makeNode('liar', replica(2), keys);
    // The signaling server says the link comes from node 3, the challenge claims node 2.
    const pair = createLinkPair(a.peerId, liar.peerId.replace(nodeIdOf(2), nodeIdOf(3)));
    a.sync.addLink(pair.a);
    liar.sync.addLink(pair.b);
    await until(() => pair.a.closed);
    expect(errorsOf(a, 'AUTH')[0]!.message).toMatch(/differs/);
    expect(pair.a.sent.length).toBeLessThanOrEqual(1);

    const outsiderId = `${otherKeys.roomId}-${nodeIdOf(4)}`;
    const pair2 = createLinkPair(a.peerId, outsiderId);
    a.sync.addLink(pair2.a);
    pair2.inject('b', challengeFrame(outsiderId));
    await until(() => pair2.a.closed);
    expect(errorsOf(a, 'AUTH').some((e) => /not in our room/.test(e.message))).toBe(true);
    expect(pair2.a.sent.map((f) => f.length)).toEqual([CHALLENGE]);
  });

  it('times out after 5 s (injected clock): closed, only the challenge sent', async () => {
    const timers = new FakeTimers();
    const a = makeNode('a', replica(1), keys, { timers });
    const pair = createLinkPair(a.peerId, `${keys.roomId}-${nodeIdOf(9)}`);
    a.sync.addLink(pair.a); // nobody answers on pair.b
    await ticks();
    timers.advance(4_999);
    expect(pair.a.closed).toBe(false);
    timers.advance(1);
    expect(pair.a.closed).toBe(true);
    expect(pair.a.sent.map((f) => f.length)).toEqual([CHALLENGE]);
    expect(errorsOf(a, 'AUTH').length).toBe(1);
  });

  it('a reflected proof fails: the prover role is inside the MAC', async () => {
    // An attacker without the token mirrors our own nonce back as its challenge, then returns
    // our proof as its own: same nonces, same peer ids, only the role differs.
    const a = makeNode('a', replica(1), keys);
    const attackerId = `${keys.roomId}-${nodeIdOf(7)}`;
    const pair = createLinkPair(a.peerId, attackerId);
    pair.intercept = (from, f) => {
      if (from !== 'a') return [f];
      if (f.length === CHALLENGE) {
        const mirrored = f.slice();
        mirrored.set(new TextEncoder().encode(attackerId), 34);
        queueMicrotask(() => pair.inject('b', mirrored));
      }
      if (f.length === PROOF) queueMicrotask(() => pair.inject('b', f.slice()));
      return [f];
    };
    a.sync.addLink(pair.a);
    await until(() => pair.a.closed);
    expect(pair.a.sent.map((f) => f.length)).toEqual([CHALLENGE, PROOF]);
    expect(errorsOf(a, 'AUTH')[0]!.message).toMatch(/wrong proof/);
    expect(a.sync.peers()).toEqual([]);
  });

  it('drops a link whose challenge is malformed', async () => {
    const a = makeNode('a', replica(1), keys);
    const pair = createLinkPair(a.peerId, `${keys.roomId}-${nodeIdOf(9)}`);
    a.sync.addLink(pair.a);
    pair.inject('b', new Uint8Array(83).fill(1));
    await until(() => pair.a.closed);
    expect(errorsOf(a, 'AUTH').length).toBe(1);
  });
});
