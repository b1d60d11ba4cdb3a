import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Peer as PeerType, PeerOptions } from 'peerjs';
import { listRoom, peerIdIn, roomId, startServer, type TestServer } from './helpers.js';

/**
 * The real PeerJS 1.5.5 client against the server, for the signaling half only (no WebRTC in
 * Node): it must open with our ids and surface our refusals as `server-error` with our text.
 * PeerJS probes for WebRTC when its module loads and reads `location`/`WebSocket` from the
 * page, so those are stubbed with the bare minimum before it is imported.
 */
let Peer: typeof PeerType;
let running: TestServer | undefined;
const peers: PeerType[] = [];

beforeAll(async () => {
  vi.stubGlobal('window', globalThis);
  vi.stubGlobal('location', { protocol: 'http:' });
  vi.stubGlobal('WebSocket', WebSocket);
  vi.stubGlobal('RTCPeerConnection', class { createDataChannel(): object { return {}; } close(): void {} });
  ({ Peer } = await import('peerjs'));
});
afterAll(() => {
  vi.unstubAllGlobals();
});
afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await running?.server.close();
  running = undefined;
});

function connect(t: TestServer, id: string, extra: Partial<PeerOptions> = {}): Promise<{ open: string } | { error: string; message: string }> {
  const peer = new Peer(id, { host: '127.0.0.1', port: t.server.port, path: '/', debug: 0, config: { iceServers: [] }, ...extra });
  peers.push(peer);
  return new Promise((resolve) => {
    peer.on('open', (open) => resolve({ open }));
    peer.on('error', (err) => resolve({ error: err.type, message: err.message }));
  });
}

describe('with the PeerJS client', () => {
  it('opens with a room peer id and is listed in its room', async () => {
    const t = (running = await startServer());
    const room = roomId();
    const id = peerIdIn(room);
    expect(await connect(t, id)).toEqual({ open: id });
    expect((await listRoom(t.server, room)).body).toEqual({ peers: [id] });
  });

  it('surfaces a refused peer id as server-error with the rule in the message', async () => {
    const t = (running = await startServer());
    expect(await connect(t, 'alice')).toEqual({
      error: 'server-error',
      message: 'rtc-battery: peer id must be <room id: 32 lowercase hex>-<node id: 16 lowercase hex>',
    });
  });

  it('surfaces a full room as server-error naming the limit', async () => {
    const t = (running = await startServer({ maxPeersPerRoom: 1 }));
    const room = roomId();
    expect(await connect(t, peerIdIn(room))).toHaveProperty('open');
    expect(await connect(t, peerIdIn(room))).toEqual({ error: 'server-error', message: 'rtc-battery: room is full (maxPeersPerRoom = 1)' });
  });

  it('finds the server under a custom path', async () => {
    const t = (running = await startServer({ path: '/signal' }));
    const id = peerIdIn(roomId());
    expect(await connect(t, id, { path: '/signal/' })).toEqual({ open: id });
  });
});
