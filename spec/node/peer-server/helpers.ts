import { afterEach } from 'vitest';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createBatteryServer, type BatteryServer, type BatteryServerOptions } from '../../../peer-server/index.js';

export const roomId = (): string => randomBytes(16).toString('hex');
const nodeId = (): string => randomBytes(8).toString('hex');
export const peerIdIn = (room: string): string => `${room}-${nodeId()}`;

/**
 * Server log lines, awaitable: the server logs `join`/`leave`/`refused`/`closed` once it has
 * acted, so waiting for a line replaces sleeping and guessing.
 */
export class LogTap {
  readonly lines: string[] = [];
  private waiters: { pattern: RegExp; from: number; resolve: (line: string) => void }[] = [];

  readonly log = (line: string): void => {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      const hit = this.lines.slice(w.from).find((l) => w.pattern.test(l));
      if (hit !== undefined) w.resolve(hit);
      return hit === undefined;
    });
  };

  /** Resolves with the first line matching `pattern` logged at index `from` or later. */
  waitFor(pattern: RegExp, from = 0): Promise<string> {
    const hit = this.lines.slice(from).find((l) => pattern.test(l));
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve) => this.waiters.push({ pattern, from, resolve }));
  }

  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length;
  }
}

export interface TestServer {
  server: BatteryServer;
  tap: LogTap;
}

export async function startServer(options: BatteryServerOptions = {}): Promise<TestServer> {
  const tap = new LogTap();
  const server = await createBatteryServer({ port: 0, host: '127.0.0.1', log: tap.log, ...options });
  return { server, tap };
}

export interface ServerMessage {
  type: string;
  src?: string;
  dst?: string;
  payload?: unknown;
}

/** A raw WebSocket speaking the PeerJS server protocol, with awaitable messages and close. */
export class SignalingClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly inbox: ServerMessage[] = [];
  private waiting: ((m: ServerMessage) => void) | undefined;

  constructor(baseUrl: string, readonly id: string, token = randomBytes(8).toString('hex'), key = 'peerjs') {
    const url = new URL(baseUrl);
    url.protocol = 'ws:';
    url.pathname = `${url.pathname}peerjs`;
    url.search = new URLSearchParams({ key, id, token }).toString();
    this.ws = new WebSocket(url);
    this.ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(message);
      } else this.inbox.push(message);
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.ws.on('error', () => {}); // surfaced through `closed`
  }

  next(): Promise<ServerMessage> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  async close(): Promise<void> {
    this.ws.close();
    await this.closed;
  }
}

/** Connects and expects OPEN. */
export async function openPeer(server: BatteryServer, id: string, token?: string): Promise<SignalingClient> {
  const client = new SignalingClient(server.url, id, token);
  const first = await client.next();
  if (first.type !== 'OPEN') throw new Error(`expected OPEN for ${id}, got ${JSON.stringify(first)}`);
  return client;
}

/** Connects and expects an ERROR then a close; returns the error text and close code. */
export async function refusedPeer(server: BatteryServer, id: string): Promise<{ msg: string; code: number }> {
  const client = new SignalingClient(server.url, id);
  const first = await client.next();
  if (first.type !== 'ERROR') throw new Error(`expected ERROR for ${id}, got ${JSON.stringify(first)}`);
  const { code } = await client.closed;
  return { msg: (first.payload as { msg: string }).msg, code };
}

export async function listRoom(server: BatteryServer, room: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.url}rooms/${room}`);
  return { status: res.status, body: await res.json() };
}

/** A sends an OFFER to B; B must receive it stamped with A's id and the payload intact. */
export async function relayWorks(a: SignalingClient, b: SignalingClient): Promise<boolean> {
  const payload = { sdp: `v=0 ${randomBytes(4).toString('hex')}`, connectionId: 'dc_1' };
  a.send({ type: 'OFFER', dst: b.id, payload });
  const got = await b.next();
  return got.type === 'OFFER' && got.src === a.id && got.dst === b.id && JSON.stringify(got.payload) === JSON.stringify(payload);
}

/**
 * Per-test server and clients, closed after each test (even when it fails):
 * `const { setup, peer } = useSignalingFixture();` then `const t = await setup(); await peer(t, id)`.
 */
export function useSignalingFixture(): {
  setup(options?: BatteryServerOptions): Promise<TestServer>;
  peer(t: TestServer, id: string): Promise<SignalingClient>;
} {
  let running: TestServer | undefined;
  const clients: SignalingClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await running?.server.close();
    running = undefined;
  });
  return {
    async setup(options = {}) {
      running = await startServer(options);
      return running;
    },
    async peer(t, id) {
      const c = await openPeer(t.server, id);
      clients.push(c);
      return c;
    },
  };
}
