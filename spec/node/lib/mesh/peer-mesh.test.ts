import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_CONNECTIONS, MAX_LINKS_PER_PEER, POLL_MS } from '../../../../lib/mesh/peer-mesh.js';
import { MAX_FRAME_BYTES } from '../../../../shared-worker/protocol/limits.js';
import { FakeNetwork, type FakeConnection } from './fake-peerjs.js';
import { id, openLinks, OTHER_ROOM, ROOM, startNode } from './mesh-nodes.js';

describe('PeerMesh', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('registers with the configured id and options (explicit host, no default ICE servers)', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    await vi.advanceTimersByTimeAsync(10);
    expect(net.peers[0]!.id).toBe(id('1'));
    expect(net.peers[0]!.options).toEqual({ host: '127.0.0.1', port: 9, path: '/', secure: false, token: 'f'.repeat(32), config: { iceServers: [] }, debug: 0 });
    expect(a.statuses).toEqual([{ signaling: 'connecting' }, { signaling: 'open' }]);
    a.mesh.stop();
  });

  it('links two members once, the smaller id dials, and frames flow both ways', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    const b = startNode(net, id('2'));
    await vi.advanceTimersByTimeAsync(POLL_MS * 2);
    expect(openLinks(a)).toHaveLength(1);
    expect(openLinks(b)).toHaveLength(1);
    expect(openLinks(a)[0]!.initiator).toBe(true);
    expect(openLinks(b)[0]!.initiator).toBe(false);
    openLinks(a)[0]!.send(new Uint8Array([1, 2, 3]));
    openLinks(b)[0]!.send(new Uint8Array([4]));
    expect(b.frames).toEqual([{ from: id('1'), bytes: [1, 2, 3] }]);
    expect(a.frames).toEqual([{ from: id('2'), bytes: [4] }]);
    a.mesh.stop();
    b.mesh.stop();
  });

  it('a newcomer dials the members of its first listing at once, even with a larger id', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    await vi.advanceTimersByTimeAsync(POLL_MS * 2 + POLL_MS / 2); // mid-way between two of a's polls
    const b = startNode(net, id('2'));
    await vi.advanceTimersByTimeAsync(10); // far less than a's poll period
    expect(openLinks(b)).toHaveLength(1);
    expect(openLinks(b)[0]!.initiator).toBe(true);
    expect(openLinks(a)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(POLL_MS * 3); // a's later polls add nothing
    expect(a.links).toHaveLength(1);
    expect(b.links).toHaveLength(1);
    a.mesh.stop();
    b.mesh.stop();
  });

  it('forms a full mesh of three with exactly one link per pair, across many polls', async () => {
    const net = new FakeNetwork();
    const nodes = ['3', '1', '2'].map((n) => startNode(net, id(n)));
    await vi.advanceTimersByTimeAsync(POLL_MS * 10);
    for (const n of nodes) {
      expect(n.links).toHaveLength(2);
      expect(new Set(openLinks(n).map((l) => l.remotePeerId)).size).toBe(2);
    }
    for (const n of nodes) n.mesh.stop();
  });

  it('never dials members of another room, even if a listing names them', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    startNode(net, `${OTHER_ROOM}-${'2'.repeat(16)}`, OTHER_ROOM);
    const realList = net.listMembers;
    net.listMembers = async () => [...(await realList(ROOM)), `${OTHER_ROOM}-${'2'.repeat(16)}`];
    await vi.advanceTimersByTimeAsync(POLL_MS * 3);
    expect(net.listings).toBeGreaterThan(0);
    expect(net.peers[0]!.connections).toHaveLength(0);
    a.mesh.stop();
  });

  it.each([
    ['json serialization', { reliable: true, serialization: 'json' }],
    ['binary serialization', { reliable: true, serialization: 'binary' }],
    ['an unreliable channel', { reliable: false, serialization: 'raw' }],
  ])('closes an incoming connection asking for %s at once', async (_label, options) => {
    const net = new FakeNetwork();
    const a = startNode(net, id('5'));
    await vi.advanceTimersByTimeAsync(10);
    const rogue = net.rogueDial(id('1'), id('5'), options);
    expect(rogue.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(a.links).toHaveLength(0);
    a.mesh.stop();
  });

  it('closes a connection that claims reliable but negotiated an unordered or lossy channel', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('5'));
    await vi.advanceTimersByTimeAsync(10);
    const lossy = net.rogueDial(id('1'), id('5'), { reliable: true, serialization: 'raw' }, { ordered: true, maxRetransmits: 0 });
    const unordered = net.rogueDial(id('2'), id('5'), { reliable: true, serialization: 'raw' }, { ordered: false, maxRetransmits: null });
    await vi.advanceTimersByTimeAsync(10);
    expect(lossy.closed).toBe(true);
    expect(unordered.closed).toBe(true);
    expect(a.links).toHaveLength(0);
    a.mesh.stop();
  });

  it('refuses a connection from an id outside the room or from its own id', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('5'));
    await vi.advanceTimersByTimeAsync(10);
    const outsider = net.rogueDial(`${OTHER_ROOM}-${'1'.repeat(16)}`, id('5'), { reliable: true, serialization: 'raw' });
    const junk = net.rogueDial('not-a-battery-peer', id('5'), { reliable: true, serialization: 'raw' });
    const self = net.rogueDial(id('5'), id('5'), { reliable: true, serialization: 'raw' });
    expect([outsider.closed, junk.closed, self.closed]).toEqual([true, true, true]);
    a.mesh.stop();
  });

  it(`refuses new connections beyond ${MAX_CONNECTIONS} open or negotiating ones`, async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('f'));
    await vi.advanceTimersByTimeAsync(10);
    const dials = Array.from({ length: MAX_CONNECTIONS + 3 }, (_, i) =>
      net.rogueDial(`${ROOM}-${i.toString(16).padStart(16, '0')}`, id('f'), { reliable: true, serialization: 'raw' }),
    );
    expect(dials.filter((c) => c.closed)).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(10);
    expect(openLinks(a)).toHaveLength(MAX_CONNECTIONS);
    openLinks(a)[0]!.close('gone');
    const after = net.rogueDial(`${ROOM}-${'e'.repeat(16)}`, id('f'), { reliable: true, serialization: 'raw' });
    expect(after.closed).toBe(false);
    a.mesh.stop();
  });

  it('drops a peer that sends text, an empty frame or an oversized frame, and only that peer', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('5'));
    await vi.advanceTimersByTimeAsync(10);
    const good = net.rogueDial(id('1'), id('5'), { reliable: true, serialization: 'raw' });
    const text = net.rogueDial(id('2'), id('5'), { reliable: true, serialization: 'raw' });
    const empty = net.rogueDial(id('3'), id('5'), { reliable: true, serialization: 'raw' });
    const big = net.rogueDial(id('4'), id('5'), { reliable: true, serialization: 'raw' });
    await vi.advanceTimersByTimeAsync(10);
    expect(a.links).toHaveLength(4);
    text.deliverToOther('hello');
    empty.deliverToOther(new ArrayBuffer(0));
    big.deliverToOther(new ArrayBuffer(MAX_FRAME_BYTES + 1));
    good.deliverToOther(new Uint8Array(MAX_FRAME_BYTES).buffer);
    expect(openLinks(a).map((l) => l.remotePeerId)).toEqual([id('1')]);
    expect([text.closed, empty.closed, big.closed, good.closed]).toEqual([true, true, true, false]);
    expect(a.frames).toHaveLength(1);
    expect(a.frames[0]!.bytes.length).toBe(MAX_FRAME_BYTES);
    a.mesh.stop();
  });

  it('keeps the connection dialed by the smaller id when both sides dial', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    const b = net.createPeer(id('2'), { host: 'h', port: 1, path: '/', secure: false, token: 'f'.repeat(32), config: { iceServers: [] }, debug: 0 });
    await vi.advanceTimersByTimeAsync(0);
    await a.mesh.pollNow(); // a's dial is in flight (not open yet) ...
    const wrongWay = b.connect(id('1'), { reliable: true, serialization: 'raw' })!; // ... when b dials too
    expect((wrongWay as FakeConnection).closed).toBe(true);
    await vi.advanceTimersByTimeAsync(10);
    expect(openLinks(a)).toHaveLength(1);
    expect(openLinks(a)[0]!.initiator).toBe(true);
    a.mesh.stop();
  });

  it('a smaller id connecting again does not close the open link: both are handed out, the worker retires one after auth', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('5'));
    await vi.advanceTimersByTimeAsync(10);
    net.rogueDial(id('1'), id('5'), { reliable: true, serialization: 'raw' });
    await vi.advanceTimersByTimeAsync(10);
    const first = a.links[0]!;
    // Its leader tab restarted, or someone who knows only the room id: the mesh cannot tell.
    net.rogueDial(id('1'), id('5'), { reliable: true, serialization: 'raw' });
    await vi.advanceTimersByTimeAsync(10);
    expect(first.isClosed).toBe(false);
    expect(openLinks(a)).toHaveLength(2);
    expect(a.mesh.openLinks().get(id('1'))).toBe(a.links[1]);
    // A third while two are open is refused: the working link is never pushed out.
    const third = net.rogueDial(id('1'), id('5'), { reliable: true, serialization: 'raw' });
    await vi.advanceTimersByTimeAsync(10);
    expect(third.closed).toBe(true);
    expect(openLinks(a)).toHaveLength(MAX_LINKS_PER_PEER);
    // The worker closes the older one once the newer has authenticated: a slot is free again.
    first.close('replaced by a newer link');
    await vi.advanceTimersByTimeAsync(10);
    expect(openLinks(a)).toEqual([a.links[1]]);
    net.rogueDial(id('1'), id('5'), { reliable: true, serialization: 'raw' });
    await vi.advanceTimersByTimeAsync(10);
    expect(openLinks(a)).toHaveLength(2);
    a.mesh.stop();
    expect(openLinks(a)).toEqual([]);
  });

  it('refuses a larger id dialing while the link this side dialed is up', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    const b = startNode(net, id('2'));
    await vi.advanceTimersByTimeAsync(POLL_MS);
    const established = openLinks(a)[0]!;
    const extra = net.rogueDial(id('2'), id('1'), { reliable: true, serialization: 'raw' });
    await vi.advanceTimersByTimeAsync(10);
    expect(extra.closed).toBe(true);
    expect(established.isClosed).toBe(false);
    a.mesh.stop();
    b.mesh.stop();
  });

  it('drops a dial that never opens and dials again on a later poll', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    await vi.advanceTimersByTimeAsync(10);
    // A member the listing shows but whose offers go nowhere (registered elsewhere, unreachable).
    const ghost = id('2');
    const realList = net.listMembers;
    net.listMembers = async (room) => [...(await realList(room)), ghost];
    await vi.advanceTimersByTimeAsync(POLL_MS);
    const dials = () => net.peers[0]!.connections.filter((c) => c.peer === ghost);
    expect(dials()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(dials()[0]!.closed).toBe(true);
    expect(dials().length).toBeGreaterThan(1);
    a.mesh.stop();
  });

  it('stop() closes every link and the Peer, and reports nothing afterwards', async () => {
    const net = new FakeNetwork();
    const a = startNode(net, id('1'));
    const b = startNode(net, id('2'));
    await vi.advanceTimersByTimeAsync(POLL_MS);
    a.mesh.stop();
    const count = a.statuses.length;
    expect(a.links.every((l) => l.isClosed)).toBe(true);
    expect(net.peers[0]!.destroyed).toBe(true);
    await vi.advanceTimersByTimeAsync(POLL_MS * 3);
    expect(openLinks(b)).toHaveLength(0);
    expect(a.statuses).toHaveLength(count);
    b.mesh.stop();
  });
});
