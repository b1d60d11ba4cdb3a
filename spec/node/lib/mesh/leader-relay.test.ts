import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLeaderRelay } from '../../../../lib/mesh/leader-relay.js';
import type { FetchLike } from '../../../../lib/mesh/room-directory.js';
import type { LeaderToWorker, WorkerToLeader } from '../../../../shared-worker/protocol/worker-protocol.js';
import { FakeNetwork } from './fake-peerjs.js';

const ROOM = 'c'.repeat(32);
const A = `${ROOM}-${'1'.repeat(16)}`;
const B = `${ROOM}-${'2'.repeat(16)}`;
const URL_ = 'http://127.0.0.1:9/';

function relayFor(net: FakeNetwork, epoch: number) {
  const posted: LeaderToWorker[] = [];
  const fetchImpl: FetchLike = async (url) => {
    const room = url.split('/rooms/')[1]!;
    return { ok: true, status: 200, json: async () => ({ peers: await net.listMembers(room) }) };
  };
  const relay = createLeaderRelay({ epoch, post: (m) => posted.push(m), createPeer: net.createPeer, fetch: fetchImpl, random: () => 0.5 });
  return { relay, posted };
}

const start = (epoch: number, selfPeerId: string): WorkerToLeader & { kind: 'mesh-start' } => ({
  kind: 'mesh-start', epoch, signalingUrl: URL_, roomId: ROOM, selfPeerId, signalingToken: 'f'.repeat(32), iceServers: [],
});

describe('leader relay', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('relays link-open, frames both ways, drain reports and closes, all tagged with its epoch', async () => {
    const net = new FakeNetwork();
    const a = relayFor(net, 7);
    const b = relayFor(net, 3);
    a.relay.handle(start(7, A));
    b.relay.handle(start(3, B));
    await vi.advanceTimersByTimeAsync(100);
    expect(a.posted.map((m) => m.kind)).toEqual(['mesh-status', 'mesh-status', 'link-open']);
    expect(a.posted.every((m) => m.epoch === 7)).toBe(true);
    const openA = a.posted.find((m) => m.kind === 'link-open')!;
    const openB = b.posted.find((m) => m.kind === 'link-open')!;
    expect(openA).toMatchObject({ remotePeerId: B, initiator: true });
    expect(openB).toMatchObject({ remotePeerId: A, initiator: false });
    if (openA.kind !== 'link-open' || openB.kind !== 'link-open') throw new Error('unreachable');

    a.relay.handle({ kind: 'link-send', epoch: 7, linkId: openA.linkId, bytes: new Uint8Array([1, 2]) });
    a.relay.handle({ kind: 'link-send', epoch: 7, linkId: openA.linkId, bytes: new Uint8Array([3]) });
    const frame = b.posted.find((m) => m.kind === 'link-frame');
    expect(frame).toMatchObject({ epoch: 3, linkId: openB.linkId });
    await vi.advanceTimersByTimeAsync(1);
    const drains = a.posted.filter((m) => m.kind === 'link-drain');
    expect(drains).toEqual([{ kind: 'link-drain', epoch: 7, linkId: openA.linkId, consumed: 3, bufferedAmount: 0 }]);

    a.relay.handle({ kind: 'link-close', epoch: 7, linkId: openA.linkId, reason: 'bye' });
    expect(a.posted.some((m) => m.kind === 'link-closed')).toBe(false); // the worker closed it: no echo
    expect(b.posted.at(-1)).toMatchObject({ kind: 'link-closed', epoch: 3, linkId: openB.linkId });
    a.relay.stop();
    b.relay.stop();
  });

  it('ignores messages of another epoch and answers a send on an unknown link with link-closed', async () => {
    const net = new FakeNetwork();
    const a = relayFor(net, 2);
    a.relay.handle(start(1, A));
    await vi.advanceTimersByTimeAsync(100);
    expect(a.posted).toEqual([]);
    expect(net.peers).toHaveLength(0);
    a.relay.handle({ kind: 'link-send', epoch: 2, linkId: 'nope', bytes: new Uint8Array(1) });
    expect(a.posted).toEqual([{ kind: 'link-closed', epoch: 2, linkId: 'nope', reason: 'no such link' }]);
  });

  it('treats a repeated mesh-start as a no-op, and mesh-stop leaves the room', async () => {
    const net = new FakeNetwork();
    const a = relayFor(net, 1);
    a.relay.handle(start(1, A));
    a.relay.handle(start(1, A));
    await vi.advanceTimersByTimeAsync(100);
    expect(net.peers).toHaveLength(1);
    a.relay.handle({ kind: 'mesh-stop', epoch: 1 });
    expect(net.peers[0]!.destroyed).toBe(true);
  });

  it('reports a bad signalingUrl as a SIGNALING mesh-status error', () => {
    const net = new FakeNetwork();
    const a = relayFor(net, 1);
    a.relay.handle({ ...start(1, A), signalingUrl: 'ftp://x/' });
    expect(a.posted).toHaveLength(1);
    expect(a.posted[0]).toMatchObject({ kind: 'mesh-status', status: { signaling: 'error', error: { code: 'SIGNALING' } } });
  });
});
