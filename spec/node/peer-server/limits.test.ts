import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  listRoom,
  peerIdIn,
  refusedPeer,
  relayWorks,
  roomId,
  SignalingClient,
  useSignalingFixture,
} from './helpers.js';

const { setup, peer } = useSignalingFixture();

describe('peer id rule', () => {
  it('refuses every id that is not <32 hex room>-<16 hex node>, with a message the client surfaces', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    const node = '0123456789abcdef';
    const bad = [
      'alice',
      room,
      `${room}-`,
      `${room.toUpperCase()}-${node}`,
      `${room}-${node.toUpperCase()}`,
      `${room.slice(1)}-${node}`,
      `${room}-${node}0`,
      `${room}_${node}`,
      `${room}-${node}-x`,
      ` ${room}-${node}`,
      `${room}-${node}\n`,
    ];
    for (const id of bad) {
      const refused = await refusedPeer(t.server, id);
      expect(refused.msg, JSON.stringify(id)).toMatch(/^rtc-battery: peer id must be/);
      expect(refused.code).toBe(1008);
    }
    // No id at all (peer itself would say "No id, token, or key supplied").
    const noId = new SignalingClient(t.server.url, '');
    expect(await noId.next()).toEqual({ type: 'ERROR', payload: { msg: expect.stringMatching(/peer id must be/) } });
    await noId.closed;

    expect(t.server.stats().refused['bad-id']).toBe(bad.length + 1);
    expect(await relayWorks(a, b)).toBe(true);
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [a.id, b.id].sort() });
  });
});

describe('peers per room', () => {
  it('refuses a peer over maxPeersPerRoom, naming the limit, while the room and other rooms keep working', async () => {
    const t = await setup({ maxPeersPerRoom: 2 });
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));

    const refused = await refusedPeer(t.server, peerIdIn(room));
    expect(refused.msg).toBe('rtc-battery: room is full (maxPeersPerRoom = 2)');
    expect(refused.code).toBe(1008);

    const elsewhere = await peer(t, peerIdIn(roomId()));
    const elsewhere2 = await peer(t, peerIdIn(elsewhere.id.slice(0, 32)));
    expect(await relayWorks(elsewhere, elsewhere2)).toBe(true);
    expect(await relayWorks(a, b)).toBe(true);
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [a.id, b.id].sort() });
    expect(t.server.stats().refused['room-full']).toBe(1);
  });

  it('admits a newcomer once a member leaves', async () => {
    const t = await setup({ maxPeersPerRoom: 2 });
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    await refusedPeer(t.server, peerIdIn(room));
    const mark = t.tap.lines.length;
    await b.close();
    await t.tap.waitFor(/^leave /, mark);
    const c = await peer(t, peerIdIn(room));
    expect(await relayWorks(c, a)).toBe(true);
  });

  it('does not count a known id against a full room: a clash gets ID-TAKEN, not room-full', async () => {
    const t = await setup({ maxPeersPerRoom: 1 });
    const a = await peer(t, peerIdIn(roomId()));
    const clash = new SignalingClient(t.server.url, a.id, 'other-token');
    expect((await clash.next()).type).toBe('ID-TAKEN');
    await clash.closed;
    expect(t.server.stats().refused['room-full']).toBe(0);
  });
});

describe('connections per address', () => {
  it('refuses a socket over maxConnectionsPerAddress, naming the limit, while open ones keep working', async () => {
    const t = await setup({ maxConnectionsPerAddress: 2 });
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));

    const refused = await refusedPeer(t.server, peerIdIn(room));
    expect(refused.msg).toBe('rtc-battery: too many connections from this address (maxConnectionsPerAddress = 2)');
    const refusedElsewhere = await refusedPeer(t.server, peerIdIn(roomId()));
    expect(refusedElsewhere.msg).toMatch(/maxConnectionsPerAddress = 2/);

    expect(await relayWorks(a, b)).toBe(true);
    expect(t.server.stats()).toMatchObject({ sockets: 2, refused: { 'address-limit': 2 } });

    const mark = t.tap.lines.length;
    await a.close();
    await t.tap.waitFor(/^leave /, mark);
    const c = await peer(t, peerIdIn(room));
    expect(await relayWorks(c, b)).toBe(true);
  });

  it('does not count refused sockets against the address', async () => {
    const t = await setup({ maxConnectionsPerAddress: 1 });
    for (let i = 0; i < 5; i++) await refusedPeer(t.server, 'bad-id');
    const a = await peer(t, peerIdIn(roomId()));
    expect(a.ws.readyState).toBe(a.ws.OPEN);
    expect(t.server.stats().sockets).toBe(1);
  });
});

describe('message size', () => {
  it('closes only the socket that sent a message over maxMessageBytes (1009); the others keep relaying', async () => {
    const t = await setup({ maxMessageBytes: 1024 });
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    const c = await peer(t, peerIdIn(room));

    // Exactly at the limit is fine.
    const fits = JSON.stringify({ type: 'OFFER', dst: b.id, payload: 'x' });
    const atLimit = JSON.stringify({ type: 'OFFER', dst: b.id, payload: 'x'.repeat(1024 - fits.length + 1) });
    expect(Buffer.byteLength(atLimit)).toBe(1024);
    a.send(atLimit);
    expect((await b.next()).src).toBe(a.id);

    const mark = t.tap.lines.length;
    a.send({ type: 'OFFER', dst: b.id, payload: 'x'.repeat(2000) });
    expect((await a.closed).code).toBe(1009);
    await t.tap.waitFor(/^leave /, mark);

    expect(await relayWorks(b, c)).toBe(true);
    expect(await relayWorks(c, b)).toBe(true);
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [b.id, c.id].sort() });
    expect(t.server.stats().refused.oversized).toBe(1);
    expect(t.tap.lines.some((l) => /message over maxMessageBytes \(1024\)/.test(l))).toBe(true);
  });
});

describe('refused sockets', () => {
  it('survive a refused client that sends an oversized or malformed message before it is closed', async () => {
    const t = await setup({ maxMessageBytes: 1024, maxPeersPerRoom: 2 });
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const a2 = await peer(t, peerIdIn(room));
    for (const id of ['bad-id', peerIdIn(room)]) {
      for (const data of ['x'.repeat(4096), 'not json']) {
        const c = new SignalingClient(t.server.url, id);
        // Sent from the 'open' handler itself, so it leaves before the client has read the
        // server's ERROR and close frame (which would make `send` a no-op).
        c.ws.once('open', () => c.ws.send(data));
        expect((await c.next()).type).toBe('ERROR');
        await c.closed;
      }
    }
    expect(await relayWorks(a, a2)).toBe(true);
    expect(t.server.stats().refused).toMatchObject({ 'bad-id': 2, 'room-full': 2 });
  });
});

describe('requests and new connections per address', () => {
  it('answers 429 with Retry-After past the burst, for listings and for new sockets, and lets the address back in once the bucket refills', async () => {
    let clock = 1_000_000; // the bucket refills only when the test moves this clock
    const t = await setup({ maxRequestsPerSecond: 1, maxRequestBurst: 3, now: () => clock });
    const room = roomId();
    for (let i = 0; i < 3; i++) expect((await listRoom(t.server, room)).status).toBe(200);
    const refused = await fetch(`${t.server.url}rooms/${room}`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: 'too many requests from this address' });

    // A new signaling socket is an upgrade request: refused the same way, before `peer` sees it.
    const socket = new WebSocket(`${t.server.url.replace(/^http/, 'ws')}peerjs?key=peerjs&id=${peerIdIn(room)}&token=t`);
    const status = await new Promise<number>((resolve) => socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(429);
    expect(t.tap.count(/refused rate .* \(upgrade\)/)).toBe(1);

    clock += 2_000; // two tokens back at 1/s
    expect((await listRoom(t.server, room)).status).toBe(200);
    const a = await peer(t, peerIdIn(room));
    expect(a.id).toMatch(room);
  });
});
