import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { BatteryServer } from '../../../peer-server/index.js';
import { MAX_MESSAGE_DEPTH } from '../../../peer-server/signaling-protocol.js';
import { listRoom, openPeer, peerIdIn, relayWorks, roomId, SignalingClient, useSignalingFixture, type ServerMessage } from './helpers.js';

/**
 * Attacks on the signaling server by someone who knows a room id (anyone a member shared a link
 * with, or who read it off a listing). Each one used to work against npm `peer` 1.0.2 as mounted.
 */
const { setup, peer } = useSignalingFixture();

/** A socket with a hand-made query string (and headers), answering with its first message and its close. */
async function rawConnect(
  server: BatteryServer,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ first: ServerMessage; ws: WebSocket; closed: Promise<number> }> {
  const url = new URL(server.url);
  url.protocol = 'ws:';
  url.pathname = `${url.pathname}peerjs`;
  const ws = new WebSocket(`${url.href}?${query}`, { headers });
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const first = await new Promise<ServerMessage>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)) as ServerMessage)));
  return { first, ws, closed };
}

describe('a deeply nested payload (finding 5)', () => {
  it('closes the sender, never the recipient, who keeps its id and relays on', async () => {
    const t = await setup();
    const room = roomId();
    const victim = await peer(t, peerIdIn(room));
    const other = await peer(t, peerIdIn(room));
    const attacker = await peer(t, peerIdIn(room));

    const nested = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    attacker.send(`{"type":"OFFER","dst":"${victim.id}","payload":${nested}}`);
    expect(await attacker.next()).toEqual({ type: 'ERROR', payload: { msg: 'rtc-battery: malformed signaling message' } });
    expect((await attacker.closed).code).toBe(1008);

    // The attacker's follow-up, registering the victim's id, meets the victim still holding it.
    const squat = new SignalingClient(t.server.url, victim.id);
    expect((await squat.next()).type).toBe('ID-TAKEN');
    await squat.closed;
    expect(await relayWorks(other, victim)).toBe(true);
    expect(await relayWorks(victim, other)).toBe(true);
    expect(t.server.stats().refused['off-protocol']).toBe(1);
  });

  it('relays what PeerJS sends, nested up to the bound', async () => {
    const t = await setup();
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    // Counting the message object itself: the payload may nest one level less than the bound.
    expect(MAX_MESSAGE_DEPTH).toBe(16);
    const inner = MAX_MESSAGE_DEPTH - 1;
    const payload = JSON.parse(`${'['.repeat(inner)}${']'.repeat(inner)}`) as unknown;
    a.send({ type: 'OFFER', dst: b.id, payload });
    expect((await b.next()).payload).toEqual(payload);
    a.send({ type: 'OFFER', dst: b.id, payload: [payload] });
    expect((await a.next()).type).toBe('ERROR');
    expect((await a.closed).code).toBe(1008);
  });
});

describe('repeated query parameters (finding 6)', () => {
  it('refuses a repeated id, token or key, however it is spelled, before `peer` registers anything', async () => {
    const t = await setup();
    const room = roomId();
    const good = peerIdIn(room);
    const queries = [
      `key=peerjs&id=${good}&id=__proto__&token=t`,
      `key=peerjs&id=${good}&%69d=${'x'.repeat(4000)}&token=t`,
      `key=peerjs&id=${good}&id=${peerIdIn(roomId())}&token=t`,
      `key=peerjs&id=${good}&token=t&token=u`,
      `key=peerjs&key=other&id=${good}&token=t`,
    ];
    for (const query of queries) {
      const { first, closed } = await rawConnect(t.server, query);
      expect(first, query).toEqual({ type: 'ERROR', payload: { msg: expect.stringMatching(/^rtc-battery: query parameter "(id|token|key)" is repeated$/) } });
      expect(await closed).toBe(1008);
    }
    expect(t.server.stats()).toMatchObject({ peers: 0, refused: { 'bad-query': queries.length } });
    // The checked id alone is fine.
    const { first, ws, closed } = await rawConnect(t.server, `key=peerjs&id=${good}&token=t`);
    expect(first.type).toBe('OPEN');
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [good] });
    ws.close();
    await closed;
  });
});

describe('message rate (finding 7)', () => {
  it('closes a socket that sends faster than the rate past its burst; others keep relaying', async () => {
    const t = await setup({ maxMessagesPerSecond: 1, maxMessageBurst: 5 });
    const room = roomId();
    const flooder = await peer(t, peerIdIn(room));
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    for (let i = 0; i < 20; i++) flooder.send({ type: 'HEARTBEAT' });
    expect(await flooder.next()).toEqual({
      type: 'ERROR',
      payload: { msg: 'rtc-battery: too many messages (maxMessagesPerSecond = 1, maxMessageBurst = 5)' },
    });
    expect((await flooder.closed).code).toBe(1008);
    expect(t.server.stats().refused['rate-limit']).toBe(1);
    expect(await relayWorks(a, b)).toBe(true);
  });
});

describe('queued bytes (finding 7)', () => {
  const offerTo = (dst: string, size: number): string => {
    const head = JSON.stringify({ type: 'OFFER', dst, payload: '' });
    return JSON.stringify({ type: 'OFFER', dst, payload: 'x'.repeat(size - head.length) });
  };

  it('counts OFFERs to absent ids against the sender address, across reconnects; present ids cost nothing', async () => {
    const t = await setup({ maxQueuedBytesPerAddress: 4000 });
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    const b = await peer(t, peerIdIn(room));
    // To a connected peer: relayed at once, never queued, never counted.
    for (let i = 0; i < 5; i++) {
      a.send(offerTo(b.id, 1000));
      expect((await b.next()).src).toBe(a.id);
    }
    expect(t.server.stats().queuedBytes).toBe(0);

    const absent = peerIdIn(room);
    a.send(offerTo(absent, 1000));
    a.send(offerTo(absent, 1000));
    a.send(offerTo(absent, 1000));
    a.send(offerTo(absent, 1000));
    a.send(offerTo(absent, 100)); // 4,100 bytes: over the cap
    const refusal = await a.next();
    expect(refusal.type).toBe('ERROR');
    expect((refusal.payload as { msg: string }).msg).toMatch(/maxQueuedBytesPerAddress = 4000/);
    expect((await a.closed).code).toBe(1008);
    expect(t.server.stats().queuedBytes).toBe(4000);

    // A new socket from the same address starts with the same spent budget.
    const again = await openPeer(t.server, peerIdIn(room));
    again.send(offerTo(peerIdIn(room), 100));
    expect((await again.next()).type).toBe('ERROR');
    expect((await again.closed).code).toBe(1008);
    expect(t.server.stats().refused['queue-limit']).toBe(2);
    expect(await relayWorks(b, await peer(t, peerIdIn(room)))).toBe(true);
  });

  it('caps the bytes of all addresses together', async () => {
    const t = await setup({ maxQueuedBytes: 2500 });
    const room = roomId();
    const a = await peer(t, peerIdIn(room));
    a.send(offerTo(peerIdIn(room), 2000));
    a.send(offerTo(peerIdIn(room), 1000));
    expect((await a.next()).type).toBe('ERROR');
    expect(t.server.stats().queuedBytes).toBe(2000);
  });
});

describe('trusted proxies (finding 7)', () => {
  const forwarded = (client: string) => ({ 'X-Forwarded-For': client });
  const query = (room: string): string => `key=peerjs&id=${peerIdIn(room)}&token=${randomBytes(4).toString('hex')}`;

  it('counts per-address limits by the forwarded client when the socket comes from a trusted proxy', async () => {
    const t = await setup({ maxConnectionsPerAddress: 1, trustProxy: ['127.0.0.1'] });
    const room = roomId();
    const one = await rawConnect(t.server, query(room), forwarded('203.0.113.7'));
    // A client cannot pick its address by prepending entries: the proxy's own (rightmost) counts.
    const two = await rawConnect(t.server, query(room), forwarded('203.0.113.7, 198.51.100.1'));
    expect([one.first.type, two.first.type]).toEqual(['OPEN', 'OPEN']);
    const three = await rawConnect(t.server, query(room), forwarded('198.51.100.9, 203.0.113.7'));
    expect(three.first).toEqual({ type: 'ERROR', payload: { msg: expect.stringMatching(/maxConnectionsPerAddress = 1/) } });
    expect(await three.closed).toBe(1008);
    for (const c of [one, two]) {
      c.ws.close();
      await c.closed;
    }
  });

  it('ignores X-Forwarded-For from anyone else', async () => {
    const t = await setup({ maxConnectionsPerAddress: 1 });
    const room = roomId();
    const one = await rawConnect(t.server, query(room), forwarded('203.0.113.7'));
    const two = await rawConnect(t.server, query(room), forwarded('198.51.100.1'));
    expect([one.first.type, two.first.type]).toEqual(['OPEN', 'ERROR']);
    one.ws.close();
    await Promise.all([one.closed, two.closed]);
  });
});

describe('a departed member\'s id (finding 5, the squat)', () => {
  it('stays held for the token it was registered with: others get ID-TAKEN, the member gets it back', async () => {
    const t = await setup();
    const room = roomId();
    const other = await peer(t, peerIdIn(room));
    const memberId = peerIdIn(room);
    const memberToken = 'a'.repeat(32);
    const member = await openPeer(t.server, memberId, memberToken);
    const mark = t.tap.lines.length;
    await member.close();
    await t.tap.waitFor(/^leave /, mark);
    expect(t.server.stats().heldIds).toBe(1);

    const squatter = new SignalingClient(t.server.url, memberId, 'b'.repeat(32));
    expect(await squatter.next()).toEqual({ type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });
    expect((await squatter.closed).code).toBe(1008);
    expect(t.server.stats().refused['id-held']).toBe(1);
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [other.id] });

    const back = await openPeer(t.server, memberId, memberToken);
    expect(t.server.stats().heldIds).toBe(0);
    expect(await relayWorks(other, back)).toBe(true);
    await back.close();
  });

  it('is free at once with idHoldMs: 0', async () => {
    const t = await setup({ idHoldMs: 0 });
    const memberId = peerIdIn(roomId());
    const mark = t.tap.lines.length;
    await (await openPeer(t.server, memberId, 'a'.repeat(32))).close();
    await t.tap.waitFor(/^leave /, mark);
    await (await openPeer(t.server, memberId, 'b'.repeat(32))).close();
  });
});

describe('re-registering a connected id with its own token', () => {
  it('is answered with OPEN and takes over delivery (a new leader tab while the old socket lingers)', async () => {
    const t = await setup();
    const room = roomId();
    const other = await peer(t, peerIdIn(room));
    const id = peerIdIn(room);
    const token = 'c'.repeat(32);
    const old = await openPeer(t.server, id, token);
    const next = await openPeer(t.server, id, token); // throws unless the first message is OPEN
    expect(await relayWorks(other, next)).toBe(true);
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [id, other.id].sort() });
    await old.close();
    expect(await relayWorks(next, other)).toBe(true);
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [id, other.id].sort() });
    await next.close();
  });
});
