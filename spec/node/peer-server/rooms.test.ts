import { describe, expect, it } from 'vitest';
import {
  listRoom,
  peerIdIn,
  relayWorks,
  roomId,
  SignalingClient,
  useSignalingFixture,
} from './helpers.js';

const { setup, peer } = useSignalingFixture();

describe('room membership and relay', () => {
  it('lists both peers of a room and relays an OFFER between them', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));

    const listing = await listRoom(t.server, room);
    expect(listing.status).toBe(200);
    expect(listing.body).toEqual({ peers: [a.id, b.id].sort() });

    expect(await relayWorks(a, b)).toBe(true);
    expect(await relayWorks(b, a)).toBe(true);
  });

  it('relays ANSWER and CANDIDATE too, and accepts HEARTBEAT', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    a.send({ type: 'HEARTBEAT' });
    b.send({ type: 'ANSWER', dst: a.id, payload: { sdp: 'answer' } });
    expect(await a.next()).toEqual({ type: 'ANSWER', src: b.id, dst: a.id, payload: { sdp: 'answer' } });
    a.send({ type: 'CANDIDATE', dst: b.id, payload: { candidate: 'c' } });
    expect(await b.next()).toEqual({ type: 'CANDIDATE', src: a.id, dst: b.id, payload: { candidate: 'c' } });
  });

  it('does not list a peer of another room', async () => {
    const t = await setup();
    const room = roomId();
    const other = roomId();
    const a = await peer(t, peerIdIn(room));
    const stranger = await peer(t, peerIdIn(other));

    expect((await listRoom(t.server, room)).body).toEqual({ peers: [a.id] });
    expect((await listRoom(t.server, other)).body).toEqual({ peers: [stranger.id] });
    expect((await listRoom(t.server, roomId())).body).toEqual({ peers: [] });
  });

  it('answers 400 to a malformed room id', async () => {
    const t = await setup();
    const room = roomId();
    await peer(t, peerIdIn(room));
    for (const bad of ['abc', room.toUpperCase(), `${room}0`, room.slice(1), `${room.slice(0, 31)}g`, `${room}-0123456789abcdef`]) {
      const res = await listRoom(t.server, bad);
      expect(res.status, bad).toBe(400);
      expect(res.body).not.toHaveProperty('peers');
    }
  });

  it('keeps global discovery off: peer`s /peerjs/peers answers 401 and nothing lists rooms', async () => {
    const t = await setup();
    await peer(t, peerIdIn(roomId()));
    expect((await fetch(`${t.server.url}peerjs/peers`)).status).toBe(401);
    expect((await fetch(`${t.server.url}rooms`)).status).toBe(404);
    expect((await fetch(`${t.server.url}rooms/`)).status).toBe(404);
  });

  it('sends CORS headers on the room listing', async () => {
    const t = await setup();
    const res = await fetch(`${t.server.url}rooms/${roomId()}`, { headers: { Origin: 'http://127.0.0.1:5173' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('removes a peer from the listing when it disconnects', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    const before = t.tap.lines.length;
    await a.close();
    await t.tap.waitFor(/^leave /, before);
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [b.id] });
    expect(t.server.stats()).toMatchObject({ peers: 1, rooms: 1, sockets: 1 });
  });

  it('relays only within the room: a message to another room closes the sender and never arrives', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    const intruder = await peer(t, peerIdIn(roomId()));

    intruder.send({ type: 'OFFER', dst: b.id, payload: { sdp: 'from elsewhere' } });
    const err = await intruder.next();
    expect(err).toEqual({ type: 'ERROR', payload: { msg: expect.stringMatching(/same room/) } });
    expect((await intruder.closed).code).toBe(1008);

    // The intruder's message was dropped before its ERROR was sent, so B's next message is A's.
    expect(await relayWorks(a, b)).toBe(true);
    expect(t.server.stats().refused['off-room']).toBe(1);
  });

  it('closes a socket that sends something other than a signaling message', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    const messy = [
      'not json',
      '42',
      'null',
      '[]',
      JSON.stringify({ type: 'OFFER' }), // no dst
      JSON.stringify({ type: 'LEAVE' }), // would evict the sender from peer`s realm
      JSON.stringify({ type: 'EXPIRE', dst: b.id }),
      JSON.stringify({ type: 'OPEN' }),
    ];
    for (const raw of messy) {
      const c = await peer(t, peerIdIn(room));
      c.send(raw);
      expect(await c.next(), raw).toEqual({ type: 'ERROR', payload: { msg: 'rtc-battery: malformed signaling message' } });
      expect((await c.closed).code).toBe(1008);
    }
    const binary = await peer(t, peerIdIn(room));
    binary.ws.send(Buffer.from(JSON.stringify({ type: 'HEARTBEAT' })), { binary: true });
    expect((await binary.closed).code).toBe(1008);

    expect(t.server.stats().refused['off-protocol']).toBe(messy.length + 1);
    expect(await relayWorks(a, b)).toBe(true);
  });

  it('hands a known id with another token ID-TAKEN, leaving the first holder connected', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    const impostor = new SignalingClient(t.server.url, a.id, 'another-token');
    expect((await impostor.next()).type).toBe('ID-TAKEN');
    await impostor.closed;
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [a.id, b.id].sort() });
    expect(await relayWorks(b, a)).toBe(true);
  });
});
