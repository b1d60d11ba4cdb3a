import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { POLL_MS } from '../../../../lib/mesh/peer-mesh.js';
import { FakeNetwork } from './fake-peerjs.js';
import { id, openLinks, startNode } from './mesh-nodes.js';

describe('PeerMesh signaling', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reconnects to signaling with growing backoff while links keep carrying frames', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    const b = startNode(net, id('2'));
    await vi.advanceTimersByTimeAsync(POLL_MS);
    net.stopServer();
    await vi.advanceTimersByTimeAsync(5_000);
    const attempts = a.statuses.filter((s) => s.signaling === 'reconnecting').map((s) => s.attempt);
    expect(attempts).toEqual([1, 2, 3, 4]); // 0.5 + 1 + 2 s elapsed before attempt 4 (jitter fixed at 0)
    openLinks(a)[0]!.send(new Uint8Array([7]));
    expect(b.frames).toEqual([{ from: id('1'), bytes: [7] }]);
    net.startServer();
    await vi.advanceTimersByTimeAsync(8_000);
    expect(a.statuses.at(-1)).toEqual({ signaling: 'open' });
    expect(b.statuses.at(-1)).toEqual({ signaling: 'open' });
    expect(net.peers).toHaveLength(2); // reconnect() reused the same Peer objects
    expect(openLinks(a)).toHaveLength(1);
    a.mesh.stop();
    b.mesh.stop();
  });

  it('retries with a new Peer while the previous leader tab still holds the id (unavailable-id)', async () => {
    const net = new FakeNetwork();
    const old = startNode(net, id('1'));
    await vi.advanceTimersByTimeAsync(10);
    const successor = startNode(net, id('1'));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(successor.statuses.some((s) => s.signaling === 'reconnecting')).toBe(true);
    expect(successor.statuses.some((s) => s.signaling === 'open')).toBe(false);
    old.mesh.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(successor.statuses.at(-1)).toEqual({ signaling: 'open' });
    successor.mesh.stop();
  });

  it('reports a server refusal as a SIGNALING error and keeps retrying', async () => {
    const net = new FakeNetwork();
    net.refusal = 'room is full';
    const a = startNode(net, id('1'));
    await vi.advanceTimersByTimeAsync(2_000);
    const errors = a.statuses.filter((s) => s.signaling === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.error?.code).toBe('SIGNALING');
    expect(errors[0]!.error?.message).toMatch(/room is full/);
    net.refusal = null;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(a.statuses.at(-1)).toEqual({ signaling: 'open' });
    a.mesh.stop();
  });
});
