import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatteryError } from '../../../shared-worker/protocol/errors.js';
import { createBatteryServer, type BatteryServer } from '../../../peer-server/index.js';
import { serverUrl } from '../../../peer-server/listen.js';
import { normalizePath } from '../../../peer-server/options.js';
import { LogTap, openPeer, peerIdIn, relayWorks, roomId, startServer, type SignalingClient } from './helpers.js';

const servers: BatteryServer[] = [];
const clients: SignalingClient[] = [];
const httpServers: Server[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); // only if a test failed
  }
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const h of httpServers.splice(0)) {
    h.closeAllConnections();
    await new Promise((resolve) => h.close(resolve));
  }
});

async function start(options: Parameters<typeof createBatteryServer>[0] = {}): Promise<BatteryServer> {
  const s = await createBatteryServer({ port: 0, log: new LogTap().log, ...options });
  servers.push(s);
  return s;
}
async function peer(s: BatteryServer, id: string): Promise<SignalingClient> {
  const c = await openPeer(s, id);
  clients.push(c);
  return c;
}

async function expectBatteryError(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isBatteryError(err) && err.code === 'SIGNALING' && message.test(err.message), String(err)).toBe(true);
}

describe('createBatteryServer', () => {
  it('binds 127.0.0.1 by default and reports url, host and port', async () => {
    const s = await start();
    expect(s.host).toBe('127.0.0.1');
    expect(s.port).toBeGreaterThan(0);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
  });

  it('health gives counts only', async () => {
    const s = await start();
    const room = roomId();
    await peer(s, peerIdIn(room));
    await peer(s, peerIdIn(room));
    await peer(s, peerIdIn(roomId()));
    const res = await fetch(`${s.url}health`);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toEqual({ ok: true, peers: 3, rooms: 2 });
    expect(s.stats()).toMatchObject({ peers: 3, rooms: 2, sockets: 3 });
  });

  it('serves every route under a custom path', async () => {
    const s = await start({ path: 'signal' });
    expect(s.url).toMatch(/\/signal\/$/);
    const room = roomId();
    const a = await peer(s, peerIdIn(room));
    const b = await peer(s, peerIdIn(room));
    expect(await (await fetch(`${s.url}rooms/${room}`)).json()).toEqual({ peers: [a.id, b.id].sort() });
    expect((await fetch(`${s.url}health`)).status).toBe(200);
    expect(await relayWorks(a, b)).toBe(true);
    // Nothing is served outside the prefix.
    expect((await fetch(`http://127.0.0.1:${s.port}/health`)).status).toBe(404);
  });

  it('answers 404 to a WebSocket upgrade on any other path of its own server', async () => {
    const s = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/elsewhere?key=peerjs&id=${peerIdIn(roomId())}&token=t`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('close() closes signaling sockets with 1001 and frees the port', async () => {
    const { server: s } = await startServer();
    const a = await openPeer(s, peerIdIn(roomId()));
    await s.close();
    expect((await a.closed).code).toBe(1001);
    await expect(fetch(`${s.url}health`)).rejects.toThrow();
    await s.close(); // idempotent
  });

  it('a process that closes its server exits by itself (nothing, not even peer`s sweeps, outlives close)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'spec/node/peer-server/fixtures/create-and-close.ts'], {
      cwd: new URL('../../../', import.meta.url),
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    const [code] = await once(child, 'close');
    expect(out).toBe('closed\n');
    expect(code).toBe(0);
  });

  it('refuses invalid options with a SIGNALING error', async () => {
    await expectBatteryError(createBatteryServer({ port: -1 }), /port must be an integer/);
    await expectBatteryError(createBatteryServer({ port: 70000 }), /port must be an integer/);
    await expectBatteryError(createBatteryServer({ maxMessageBytes: 0 }), /maxMessageBytes/);
    await expectBatteryError(createBatteryServer({ maxPeersPerRoom: 1.5 }), /maxPeersPerRoom/);
    await expectBatteryError(createBatteryServer({ maxConnectionsPerAddress: Number.NaN }), /maxConnectionsPerAddress/);
    await expectBatteryError(createBatteryServer({ host: ' ' }), /host/);
    await expectBatteryError(createBatteryServer({ path: '/a?b' }), /path/);
  });

  it('reports a busy port as a SIGNALING error', async () => {
    const s = await start();
    await expectBatteryError(createBatteryServer({ port: s.port, log: () => {} }), /already in use/);
  });

  it('normalizes paths to a leading and trailing slash', () => {
    expect(normalizePath('/')).toBe('/');
    expect(normalizePath('')).toBe('/');
    expect(normalizePath('signal')).toBe('/signal/');
    expect(normalizePath('/a/b')).toBe('/a/b/');
  });

  it('brackets IPv6 hosts in the URL', () => {
    expect(serverUrl('::1', 9000, '/')).toBe('http://[::1]:9000/');
    expect(serverUrl('127.0.0.1', 9000, '/s/')).toBe('http://127.0.0.1:9000/s/');
  });
});

describe('embedding', () => {
  it('mounts on an existing app and server next to their own routes and WebSocket endpoint', async () => {
    const app = express();
    app.get('/app/hello', (_req, res) => void res.send('hi'));
    const http = createServer(app);
    httpServers.push(http);
    const own = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      if (req.url === '/own-ws') own.handleUpgrade(req, socket, head, (ws) => ws.send('own'));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;

    const s = await start({ server: http, app, path: '/signal/' });
    expect(s.port).toBe(port);
    expect(s.url).toBe(`http://127.0.0.1:${port}/signal/`);

    const room = roomId();
    const a = await peer(s, peerIdIn(room));
    const b = await peer(s, peerIdIn(room));
    expect(await relayWorks(a, b)).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${port}/app/hello`)).text()).toBe('hi');
    const ownWs = new WebSocket(`ws://127.0.0.1:${port}/own-ws`);
    const greeting = await new Promise<string>((resolve) => ownWs.once('message', (data) => resolve(String(data))));
    expect(greeting).toBe('own');
    ownWs.close();

    // close() leaves the host's server and routes alone.
    await s.close();
    expect((await a.closed).code).toBe(1001);
    expect(await (await fetch(`http://127.0.0.1:${port}/app/hello`)).text()).toBe('hi');
    expect((await fetch(`${s.url}health`)).status).toBe(503);
    expect((await fetch(`${s.url}rooms/${room}`)).status).toBe(503);
  });

  it('listens on a given server that is not listening yet, attaching its own app', async () => {
    const http = createServer();
    httpServers.push(http);
    const s = await start({ server: http });
    expect(http.listening).toBe(true);
    expect((await fetch(`${s.url}health`)).status).toBe(200);
    await s.close();
    expect(http.listenerCount('request')).toBe(0);
  });

  it('refuses a server that already has a request handler unless its app is passed too', async () => {
    const http = createServer((_req, res) => res.end('mine'));
    httpServers.push(http);
    await expectBatteryError(createBatteryServer({ server: http, log: () => {} }), /pass its express app as `app`/);
    expect(http.listening).toBe(false);
  });
});
