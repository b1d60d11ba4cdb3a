import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { MemoryMailboxStore } from '../../../../peer-server/mailbox/memory-mailbox-store.js';
import type { BatteryServerOptions } from '../../../../peer-server/index.js';
import { startServer, type TestServer } from '../helpers.js';
import { RawMailboxClient } from './raw-mailbox-client.js';

const servers: TestServer[] = [];
const clients: RawMailboxClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.server.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(options: BatteryServerOptions = { mailbox: { store: new MemoryMailboxStore() } }): Promise<TestServer> {
  const s = await startServer(options);
  servers.push(s);
  return s;
}

async function client(s: TestServer): Promise<RawMailboxClient> {
  const c = await RawMailboxClient.connect(s.server.mailboxUrl!);
  clients.push(c);
  return c;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'battery-mailbox-ep-'));
  dirs.push(d);
  return d;
}

const key = () => new Uint8Array(randomBytes(32));
const blob = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('mailbox endpoint', () => {
  it('is offered only when configured: GET <path>mailbox answers its limits, or 404', async () => {
    const withBox = await serve({ mailbox: { store: new MemoryMailboxStore(), quotaBytes: 1234 } });
    const info = await (await fetch(`${withBox.server.url}mailbox`)).json();
    expect(info.version).toBe(1);
    expect(info.limits.quotaBytes).toBe(1234);
    const without = await serve({});
    expect(without.server.mailboxUrl).toBeUndefined();
    expect((await fetch(`${without.server.url}mailbox`)).status).toBe(404);
  });

  it('closes a socket that keeps asking and never reads, instead of holding every reply', async () => {
    const s = await serve();
    const k = key();
    const writer = await client(s);
    await writer.hello(k);
    for (let seq = 1; seq <= 8; seq++) await writer.request({ t: 'append', seq, blob: blob(1024 * 1024, seq) });
    const reader = await client(s);
    await reader.hello(k);
    const closed = new Promise<number>((resolve) => reader.ws.on('close', (code) => resolve(code)));
    // 8 MiB per read; 30 of them is 240 MiB the server would hold for a socket that reads nothing.
    (reader.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let i = 0; i < 30; i++) void reader.request({ t: 'read', after: 0, limit: 512 });
    await s.tap.waitFor(/not reading/);
    (reader.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(1008);
    expect(reader.replies.filter((r) => r.t === 'blobs').length).toBeLessThan(30);
    // The writer, which reads, is untouched.
    expect(await writer.request({ t: 'read', after: 7, limit: 1 })).toMatchObject({ t: 'blobs', items: [{ seq: 8 }] });
  });

  it('appends at the next position, acknowledges, and serves the blobs to the same key only', async () => {
    const s = await serve();
    const k = key();
    const a = await client(s);
    expect(await a.hello(k)).toMatchObject({ t: 'welcome', head: 0, bytes: 0, snapshot: null });
    expect(await a.request({ t: 'append', seq: 1, blob: blob(3, 1) })).toMatchObject({ t: 'ack', seq: 1 });
    expect(await a.request({ t: 'append', seq: 1, blob: blob(3, 2) })).toMatchObject({ t: 'error', code: 'conflict', head: 1 });
    expect(await a.request({ t: 'append', seq: 2, blob: blob(2, 2) })).toMatchObject({ t: 'ack', seq: 2 });
    const b = await client(s);
    expect(await b.hello(k)).toMatchObject({ t: 'welcome', head: 2, bytes: 5 });
    expect(await b.request({ t: 'read', after: 0, limit: 10 })).toEqual({ t: 'blobs', id: 2, head: 2, items: [{ seq: 1, blob: blob(3, 1) }, { seq: 2, blob: blob(2, 2) }] });
    const stranger = await client(s);
    expect(await stranger.hello(key())).toMatchObject({ t: 'welcome', head: 0 });
    expect(await stranger.request({ t: 'read', after: 0, limit: 10 })).toMatchObject({ t: 'blobs', items: [] });
  });

  it('pushes appends to subscribers, first what they lack after their cursor, then live', async () => {
    const s = await serve();
    const k = key();
    const writer = await client(s);
    await writer.hello(k);
    await writer.request({ t: 'append', seq: 1, blob: blob(1, 1) });
    await writer.request({ t: 'append', seq: 2, blob: blob(1, 2) });
    const reader = await client(s);
    await reader.hello(k);
    expect(await reader.request({ t: 'subscribe', after: 1 })).toMatchObject({ t: 'subscribed', head: 2 });
    await reader.waitFor((r) => r.t === 'push' && r.seq === 2);
    await writer.request({ t: 'append', seq: 3, blob: blob(1, 3) });
    await reader.waitFor((r) => r.t === 'push' && r.seq === 3);
    expect(reader.pushes()).toEqual([2, 3]);
    // The writer did not subscribe: it gets no pushes.
    expect(writer.pushes()).toEqual([]);
  });

  it('answers malformed or out-of-order requests with bad-request and changes nothing', async () => {
    const store = new MemoryMailboxStore();
    const s = await serve({ mailbox: { store } });
    const c = await client(s);
    expect(await c.request({ t: 'append', seq: 1, blob: blob(1, 1) })).toMatchObject({ t: 'error', code: 'bad-request', message: 'send hello first' });
    const k = key();
    await c.hello(k);
    const before = c.replies.length;
    c.sendRaw(new Uint8Array([0xc1]));
    c.sendRaw('{"t":"append"}');
    c.sendRaw(encode({ t: 'append', id: 9, seq: 1, blob: 'text' }));
    c.sendRaw(encode({ t: 'append', id: 9, seq: -1, blob: new Uint8Array(1) }));
    c.sendRaw(encode({ t: 'drop-everything', id: 9 }));
    c.sendRaw(encode([1, 2, 3]));
    c.sendRaw(encode({ t: 'hello', id: 9, v: 1, key: new Uint8Array(31) }));
    await c.waitFor(() => c.replies.length >= before + 7);
    expect(c.replies.slice(before).map((r) => (r.t === 'error' ? r.code : r.t))).toEqual(Array(7).fill('bad-request'));
    expect(await c.hello(key())).toMatchObject({ t: 'error', code: 'bad-request' });
    const id = createHash('sha256').update(k).digest('hex');
    expect(await store.state(id)).toEqual({ head: 0, bytes: 0, snapshot: null });
  });

  it('refuses an unknown protocol version', async () => {
    const s = await serve();
    const c = await client(s);
    expect(await c.request({ t: 'hello', v: 2, key: key() })).toMatchObject({ t: 'error', code: 'version' });
  });

  it('refuses a blob over the cap and an append over the quota, storing neither, and logs the quota refusal', async () => {
    const store = new MemoryMailboxStore();
    const s = await serve({ mailbox: { store, maxBlobBytes: 100, quotaBytes: 150 } });
    const c = await client(s);
    const k = key();
    await c.hello(k);
    expect(await c.request({ t: 'append', seq: 1, blob: blob(101, 1) })).toMatchObject({ t: 'error', code: 'too-large' });
    expect(await c.request({ t: 'append', seq: 1, blob: blob(100, 1) })).toMatchObject({ t: 'ack' });
    expect(await c.request({ t: 'append', seq: 2, blob: blob(51, 1) })).toMatchObject({ t: 'error', code: 'quota' });
    expect(await c.request({ t: 'append', seq: 2, blob: blob(50, 1) })).toMatchObject({ t: 'ack' });
    const id = createHash('sha256').update(k).digest('hex');
    expect(await store.state(id)).toMatchObject({ head: 2, bytes: 150 });
    expect(s.tap.count(/over quota/)).toBe(1);
  });

  it('rate-limits requests per address, and lets them through again once the bucket refills', async () => {
    let now = 1_000_000;
    const s = await serve({ mailbox: { store: new MemoryMailboxStore(), requestsPerSecond: 2, requestBurst: 3, now: () => now } });
    const c = await client(s);
    await c.hello(key());
    expect(await c.request({ t: 'read', after: 0, limit: 1 })).toMatchObject({ t: 'blobs' });
    expect(await c.request({ t: 'read', after: 0, limit: 1 })).toMatchObject({ t: 'blobs' });
    expect(await c.request({ t: 'append', seq: 1, blob: blob(1, 1) })).toMatchObject({ t: 'error', code: 'rate', retryAfterMs: 500 });
    // Another socket from the same address shares the bucket.
    const d = await client(s);
    expect(await d.hello(key())).toMatchObject({ t: 'error', code: 'rate' });
    now += 500;
    expect(await c.request({ t: 'append', seq: 1, blob: blob(1, 1) })).toMatchObject({ t: 'ack' });
  });

  it('expires mailboxes idle for longer than idleExpiryMs; an opened one stays', async () => {
    let now = 1_000_000;
    const s = await serve({ mailbox: { store: new MemoryMailboxStore(), idleExpiryMs: 10_000, now: () => now } });
    const [k1, k2] = [key(), key()];
    const c = await client(s);
    await c.hello(k1);
    await c.request({ t: 'append', seq: 1, blob: blob(1, 1) });
    const d = await client(s);
    await d.hello(k2);
    await d.request({ t: 'append', seq: 1, blob: blob(1, 1) });
    now += 8_000;
    const again = await client(s);
    await again.hello(k2);
    now += 5_000;
    expect(await s.server.sweepMailboxes!()).toBe(1);
    const check = await client(s);
    expect(await check.hello(k1)).toMatchObject({ head: 0 });
    const check2 = await client(s);
    expect(await check2.hello(k2)).toMatchObject({ head: 1 });
  });

  it('stores a snapshot that replaces covered blobs and serves it in resumable ranges', async () => {
    const s = await serve();
    const k = key();
    const c = await client(s);
    await c.hello(k);
    for (let seq = 1; seq <= 3; seq += 1) await c.request({ t: 'append', seq, blob: blob(10, seq) });
    const snap = new Uint8Array(25).map((_, i) => i);
    expect(await c.request({ t: 'put-snapshot', covers: 2, blob: snap })).toMatchObject({ t: 'ack', seq: 2 });
    const n = await client(s);
    expect(await n.hello(k)).toMatchObject({ head: 3, snapshot: { covers: 2, size: 25 } });
    const first = await n.request({ t: 'get-snapshot', offset: 0, length: 10 });
    expect(first).toMatchObject({ t: 'snapshot-chunk', covers: 2, offset: 0, total: 25, bytes: snap.slice(0, 10) });
    // A new socket resumes where the first stopped.
    const resumed = await client(s);
    await resumed.hello(k);
    expect(await resumed.request({ t: 'get-snapshot', offset: 10, length: 100 })).toMatchObject({ bytes: snap.slice(10) });
    expect(await resumed.request({ t: 'read', after: 2, limit: 10 })).toMatchObject({ items: [{ seq: 3, blob: blob(10, 3) }] });
  });

  it('keeps every acknowledged blob across a restart on the same SQLite file; the file and log hold no key', async () => {
    const file = join(tempDir(), 'data', 'mailbox.sqlite');
    const k = key();
    const first = await serve({ mailbox: file });
    const c = await client(first);
    await c.hello(k);
    const acked: number[] = [];
    for (let seq = 1; seq <= 20; seq += 1) {
      const r = await c.request({ t: 'append', seq, blob: blob(100, seq) });
      if (r.t === 'ack') acked.push(r.seq);
    }
    await first.server.close();
    servers.splice(servers.indexOf(first), 1);
    const second = await serve({ mailbox: file });
    const d = await client(second);
    expect(await d.hello(k)).toMatchObject({ head: 20 });
    const read = await d.request({ t: 'read', after: 0, limit: 100 });
    expect(read.t === 'blobs' && read.items.map((i) => i.seq)).toEqual(acked);
    const fileBytes = readFileSync(file);
    const id = createHash('sha256').update(k).digest('hex');
    expect(fileBytes.includes(Buffer.from(k))).toBe(false);
    expect(fileBytes.includes(Buffer.from(id))).toBe(true);
    const logs = [...first.tap.lines, ...second.tap.lines].join('\n');
    expect(logs).toContain(id.slice(0, 8));
    expect(logs).not.toContain(id.slice(0, 16));
    expect(logs).not.toContain(Buffer.from(k).toString('hex').slice(0, 16));
  });
});
