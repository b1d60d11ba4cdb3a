import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

/**
 * The signaling server as deployed: the real `rtc-battery-server` CLI in its own process, bound to
 * 127.0.0.1 on a free port, attacked with raw WebSocket clients that know only a room id (as
 * anyone a member shared a link with, or who read it off a listing). Nothing here reaches into
 * the server; every verdict is what a client sees on the wire.
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
const sockets: Client[] = [];

afterEach(async () => {
  for (const c of sockets.splice(0)) c.ws.terminate();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
  }
});

/** Starts the CLI and resolves with the URL it prints. */
async function startCli(args: string[] = []): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'peer-server/cli.ts', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: repoRoot,
  });
  children.push(child);
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('close', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

const roomId = (): string => randomBytes(16).toString('hex');
const peerIdIn = (room: string): string => `${room}-${randomBytes(8).toString('hex')}`;

interface Message {
  type: string;
  src?: string;
  dst?: string;
  payload?: unknown;
}

interface ConnectOptions {
  token?: string;
  /** The raw query string instead of key/id/token. */
  query?: string;
  headers?: Record<string, string>;
  /** Source address of the TCP connection (any 127.x address reaches a server on 127.0.0.1). */
  localAddress?: string;
}

/** A raw socket speaking the PeerJS server protocol, with awaitable messages and close. */
class Client {
  readonly ws: WebSocket;
  readonly closed: Promise<number>;
  private readonly inbox: Message[] = [];
  private waiting: ((m: Message) => void) | undefined;

  constructor(
    base: string,
    readonly id: string,
    readonly token: string,
    options: ConnectOptions,
  ) {
    const url = new URL(base);
    url.protocol = 'ws:';
    url.pathname = `${url.pathname}peerjs`;
    url.search = options.query ?? new URLSearchParams({ key: 'peerjs', id, token }).toString();
    this.ws = new WebSocket(url, { headers: options.headers, localAddress: options.localAddress });
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Message;
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(m);
      else this.inbox.push(m);
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)));
    sockets.push(this);
  }

  next(): Promise<Message> {
    const m = this.inbox.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => (this.waiting = resolve));
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }
}

function connect(base: string, id: string, options: ConnectOptions = {}): Client {
  return new Client(base, id, options.token ?? randomBytes(8).toString('hex'), options);
}

async function member(base: string, id: string, options: ConnectOptions = {}): Promise<Client> {
  const c = connect(base, id, options);
  const first = await c.next();
  if (first.type !== 'OPEN') throw new Error(`expected OPEN for ${id}, got ${JSON.stringify(first)}`);
  return c;
}

/** The first answer and the close code of a connection the server should refuse. */
async function refused(base: string, id: string, options: ConnectOptions = {}): Promise<{ type: string; code: number }> {
  const c = connect(base, id, options);
  const first = await c.next();
  return { type: first.type, code: await c.closed };
}

/** `from` sends an OFFER to `to`; true when it arrives intact and stamped with `from`'s id. */
async function relays(from: Client, to: Client): Promise<boolean> {
  const payload = { sdp: `v=0 ${randomBytes(4).toString('hex')}` };
  from.send({ type: 'OFFER', dst: to.id, payload });
  const got = await to.next();
  return got.type === 'OFFER' && got.src === from.id && JSON.stringify(got.payload) === JSON.stringify(payload);
}

async function listing(base: string, room: string): Promise<string[]> {
  const res = await fetch(`${base}rooms/${room}`);
  return ((await res.json()) as { peers: string[] }).peers;
}

/** Resolves 'closed' if `c` is closed by the server, 'relayed' if `probe` delivers first. */
function closedOrRelayed(c: Client, probe: Promise<Message>): Promise<'closed' | 'relayed'> {
  return Promise.race([c.closed.then(() => 'closed' as const), probe.then(() => 'relayed' as const)]);
}

describe('rtc-battery-server CLI under attack by someone who knows a room id', () => {
  it('cannot close a member with a deeply nested payload, nor take its id while it is connected', async () => {
    const base = await startCli();
    const room = roomId();
    const victim = await member(base, peerIdIn(room));
    const other = await member(base, peerIdIn(room));
    const attacker = await member(base, peerIdIn(room));

    const nested = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    attacker.send(`{"type":"OFFER","dst":"${victim.id}","payload":${nested}}`);
    expect((await attacker.next()).type).toBe('ERROR');
    expect(await attacker.closed).toBe(1008);

    expect((await refused(base, victim.id)).type).toBe('ID-TAKEN');
    expect(await relays(other, victim)).toBe(true);
    expect(await relays(victim, other)).toBe(true);
  });

  it('closes a sender whose message is over --max-message-bytes before anything is relayed', async () => {
    const base = await startCli(['--max-message-bytes', '4096']);
    const room = roomId();
    const victim = await member(base, peerIdIn(room));
    const attacker = await member(base, peerIdIn(room));
    attacker.send({ type: 'OFFER', dst: victim.id, payload: { sdp: 'x'.repeat(5000) } });
    expect(await attacker.closed).toBe(1009);
    const other = await member(base, peerIdIn(room));
    expect(await relays(other, victim)).toBe(true); // the first thing the victim gets: nothing of the attacker's
  });

  it('cannot impersonate: the recipient sees the sender id the server stamped, not the one claimed', async () => {
    const base = await startCli();
    const room = roomId();
    const victim = await member(base, peerIdIn(room));
    const target = await member(base, peerIdIn(room));
    const attacker = await member(base, peerIdIn(room));
    attacker.send({ type: 'OFFER', dst: target.id, src: victim.id, payload: { sdp: 'x' } });
    const got = await target.next();
    expect(got.src).toBe(attacker.id);
  });

  it('refuses a repeated query parameter, or a token longer than 128 characters, before anything is registered', async () => {
    const base = await startCli();
    const room = roomId();
    const good = peerIdIn(room);
    for (const query of [
      `key=peerjs&id=${good}&id=__proto__&token=t`,
      `key=peerjs&id=${good}&%69d=${'x'.repeat(4000)}&token=t`,
      `key=peerjs&id=${good}&id=${peerIdIn(roomId())}&token=t`,
      `key=peerjs&id=${good}&token=t&token=u`,
      `key=peerjs&id=${good}&token=${'t'.repeat(129)}`, // what a held id keeps: bounded
    ]) {
      expect(await refused(base, good, { query })).toEqual({ type: 'ERROR', code: 1008 });
    }
    expect(await listing(base, room)).toEqual([]);
    await member(base, good, { token: 't'.repeat(128) });
  });

  it('keeps a departed member id for its own token: a squatter gets ID-TAKEN, the member gets it back', async () => {
    const base = await startCli();
    const room = roomId();
    const victim = await member(base, peerIdIn(room));
    const observer = await member(base, peerIdIn(room));
    victim.ws.close();
    await victim.closed;
    while ((await listing(base, room)).includes(victim.id)) await new Promise((r) => setTimeout(r, 20));

    expect((await refused(base, victim.id)).type).toBe('ID-TAKEN');
    const back = await member(base, victim.id, { token: victim.token });
    expect(await relays(observer, back)).toBe(true);
  });

  it('closes a socket past its message rate', async () => {
    const base = await startCli(['--max-messages-per-second', '5', '--max-message-burst', '20']);
    const flooder = await member(base, peerIdIn(roomId()));
    for (let i = 0; i < 40; i++) flooder.send({ type: 'HEARTBEAT' });
    expect((await flooder.next()).type).toBe('ERROR');
    expect(await flooder.closed).toBe(1008);
  });

  it('caps bytes queued for absent ids per address, across reconnects', async () => {
    const base = await startCli(['--max-queued-bytes-per-address', String(256 * 1024)]);
    const room = roomId();
    const payload = { sdp: 'x'.repeat(60_000) };
    const first = await member(base, peerIdIn(room));
    for (let i = 0; i < 4; i++) first.send({ type: 'OFFER', dst: peerIdIn(room), payload });
    const witness = await member(base, peerIdIn(room));
    // Four 60 kB OFFERs fit; the fifth crosses 256 KiB and closes the sender before its probe.
    first.send({ type: 'OFFER', dst: peerIdIn(room), payload });
    first.send({ type: 'OFFER', dst: witness.id, payload: {} });
    expect(await closedOrRelayed(first, witness.next())).toBe('closed');
    // A new socket of the same address inherits the spent budget.
    const second = await member(base, peerIdIn(room));
    second.send({ type: 'OFFER', dst: peerIdIn(room), payload });
    second.send({ type: 'OFFER', dst: witness.id, payload: {} });
    expect(await closedOrRelayed(second, witness.next())).toBe('closed');
  });

  it('caps bytes held for a connected member that does not read, closing the sender, not the member', async () => {
    const base = await startCli();
    const room = roomId();
    const sink = await member(base, peerIdIn(room));
    const witness = await member(base, peerIdIn(room));
    const flooder = await member(base, peerIdIn(room));
    // The sink (the attacker's own, or a member on a slow link) stops reading: whatever the server
    // relays to it piles up in the server's send buffer.
    (sink.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = { sdp: 'x'.repeat(60_000) };
    for (let i = 0; i < 300; i++) flooder.send({ type: 'OFFER', dst: sink.id, payload });
    flooder.send({ type: 'OFFER', dst: witness.id, payload: {} });
    expect(await closedOrRelayed(flooder, witness.next())).toBe('closed');
    // The sink reads again: it is still connected, it got part of the flood (what fit in the
    // buffers), not all of it, and a member's OFFER reaches it.
    (sink.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    witness.send({ type: 'OFFER', dst: sink.id, payload: { sdp: 'after' } });
    let flood = 0;
    for (let m = await sink.next(); m.src !== witness.id; m = await sink.next()) flood += 1;
    expect(flood).toBeLessThan(300);
  });

  it('relays to a member that reads even with --max-buffered-bytes-per-recipient 0', async () => {
    const base = await startCli(['--max-buffered-bytes-per-recipient', '0']);
    const room = roomId();
    const a = await member(base, peerIdIn(room));
    const b = await member(base, peerIdIn(room));
    for (let i = 0; i < 5; i++) expect(await relays(a, b)).toBe(true);
  });
});

describe('rtc-battery-server --trust-proxy', () => {
  it('counts per-address limits by the client the trusted proxy forwards, and only from that proxy', async () => {
    const base = await startCli(['--trust-proxy', '127.0.0.1', '--max-connections-per-address', '2']);
    const room = roomId();
    const viaProxy = (client: string): ConnectOptions => ({ localAddress: '127.0.0.1', headers: { 'X-Forwarded-For': client } });
    // Two clients behind the proxy fill 203.0.113.5's allowance; a third is refused, another client is not.
    await member(base, peerIdIn(room), viaProxy('203.0.113.5'));
    await member(base, peerIdIn(room), viaProxy('203.0.113.5'));
    expect(await refused(base, peerIdIn(room), viaProxy('203.0.113.5'))).toEqual({ type: 'ERROR', code: 1008 });
    await member(base, peerIdIn(room), viaProxy('203.0.113.6'));
    // The proxy appends the address it saw; what the client itself put in front is never believed.
    expect(await refused(base, peerIdIn(room), viaProxy('198.51.100.7, 203.0.113.5'))).toEqual({ type: 'ERROR', code: 1008 });

    // A socket that does not come from the proxy is counted by its own address, whatever it claims.
    const direct = (client: string): ConnectOptions => ({ localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': client } });
    await member(base, peerIdIn(room), direct('198.51.100.1'));
    await member(base, peerIdIn(room), direct('198.51.100.2'));
    expect(await refused(base, peerIdIn(room), direct('198.51.100.3'))).toEqual({ type: 'ERROR', code: 1008 });
  });

  it('rates HTTP requests per forwarded client behind the proxy, per socket address otherwise', async () => {
    const base = await startCli(['--trust-proxy', '127.0.0.1', '--max-request-burst', '2', '--max-requests-per-second', '1']);
    const get = (localAddress: string, client: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${base}health`, { localAddress, headers: { 'X-Forwarded-For': client } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    // Ten at once from one forwarded client overrun its bucket (2, refilled at 1/s); another
    // forwarded client still has its own.
    const burst = (localAddress: string, client: (i: number) => string) => Promise.all(Array.from({ length: 10 }, (_, i) => get(localAddress, client(i))));
    expect(await burst('127.0.0.1', () => '203.0.113.5')).toContain(429);
    expect(await get('127.0.0.1', '203.0.113.6')).toBe(200);
    // Behind the proxy, ten different clients are ten buckets.
    expect(await burst('127.0.0.1', (i) => `192.0.2.${i + 1}`)).not.toContain(429);
    // Not from the proxy: one bucket for the socket's address, whatever the header names.
    expect(await burst('127.0.0.2', (i) => `198.51.100.${i + 1}`)).toContain(429);
  });

  it('ignores X-Forwarded-For without --trust-proxy', async () => {
    const base = await startCli(['--max-connections-per-address', '2']);
    const room = roomId();
    await member(base, peerIdIn(room), { headers: { 'X-Forwarded-For': '203.0.113.1' } });
    await member(base, peerIdIn(room), { headers: { 'X-Forwarded-For': '203.0.113.2' } });
    expect(await refused(base, peerIdIn(room), { headers: { 'X-Forwarded-For': '203.0.113.3' } })).toEqual({ type: 'ERROR', code: 1008 });
  });
});
