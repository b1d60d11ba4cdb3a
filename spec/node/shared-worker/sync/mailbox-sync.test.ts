import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createBatteryServer } from '../../../../peer-server/index.js';
import { parseMailboxReply, type MailboxReply } from '../../../../shared-worker/protocol/mailbox-protocol.js';
import { deriveMailboxKeys } from '../../../../shared-worker/sync/mailbox-keys.js';
import type { MailboxSocket } from '../../../../shared-worker/sync/mailbox-client.js';
import { sealBlob, sealPlain } from '../../../../shared-worker/sync/mailbox-blob.js';
import { encode } from '@msgpack/msgpack';
import { createSigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { negativeZeroCodec } from '../../../../shared-worker/replica/contracts/msgpack-negative-zero.js';
import { LEGACY_HORIZON_HLC } from '../../../../shared-worker/sync/authored-batch.js';
import { verifyChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import { toWire } from '../../../../shared-worker/sync/wire-changes.js';
import { replicaSnapshotStore } from '../../../../shared-worker/sync/mailbox-snapshot-store.js';
import { RawMailboxClient } from '../../peer-server/mailbox/raw-mailbox-client.js';
import { rows, socketFactory, useMailboxMembers, type Member } from './mailbox-members.js';
import { durableKit } from './durable-kit.js';
import { roomFor, ticks } from './helpers.js';
import { connect, errorsOf, makeNode, readyCount } from './net.js';

const { cleanups, server, tempFile, member } = useMailboxMembers();

/**
 * A `ws` socket that shows every reply to `watch` first; when `watch` says 'cut' the reply is
 * dropped and the socket closed, as a network that fails mid-download.
 */
class WatchedSocket implements MailboxSocket {
  binaryType = 'arraybuffer';
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private readonly ws: WebSocket;

  constructor(url: string, watch: (reply: MailboxReply) => 'deliver' | 'cut') {
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = (e) => this.onopen?.(e);
    this.ws.onclose = (e) => this.onclose?.(e);
    this.ws.onerror = (e) => this.onerror?.(e);
    this.ws.onmessage = (e) => {
      const parsed = parseMailboxReply(new Uint8Array(e.data as ArrayBuffer));
      if (parsed.ok && watch(parsed.value) === 'cut') {
        this.ws.close();
        return;
      }
      this.onmessage?.({ data: e.data });
    };
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: Uint8Array): void {
    this.ws.send(data);
  }

  close(): void {
    this.ws.close();
  }
}

/** Sockets that record the snapshot ranges they receive, and cut the connection at range `cutAt` (1-based) if given. */
function snapshotWatch(cutAt?: number) {
  const seen = { offsets: [] as number[], bytes: 0 };
  const socketFactory = (url: string) =>
    new WatchedSocket(url, (reply) => {
      if (reply.t !== 'snapshot-chunk') return 'deliver';
      if (cutAt !== undefined && seen.offsets.length + 1 === cutAt) return 'cut';
      seen.offsets.push(reply.offset);
      seen.bytes += reply.bytes.length;
      return 'deliver';
    });
  return { seen, socketFactory };
}

async function snapshotOnServer(url: string, token: string): Promise<{ covers: number; size: number }> {
  const raw = await RawMailboxClient.connect(url);
  try {
    const welcome = await raw.hello((await deriveMailboxKeys(token)).accessKey);
    if (welcome.t !== 'welcome' || !welcome.snapshot) throw new Error('the mailbox holds no snapshot');
    return welcome.snapshot;
  } finally {
    raw.close();
  }
}

/** `a` writes six rounds, each uploaded, with compaction past 4 blobs (so the mailbox holds a new snapshot), then stops. */
async function compactedBy(a: Member, url: string, round: number): Promise<void> {
  const syncA = await a.start(url, 4);
  for (let i = 0; i < 6; i += 1) {
    await a.kit.upsert('notes', rows((round * 6 + i) * 20, 20, `round-${round}-batch-${i}-with-some-padding`));
    await a.kit.remove('notes', [`r${String((round * 6 + i) * 20).padStart(5, '0')}`]);
    // One upload per round at least: commits made while an upload runs are sent together, so
    // without waiting a fast writer could stay under the 4 blobs that trigger compaction.
    await syncA.idle();
  }
  await syncA.stop();
}

const CHUNK = 512;

async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

describe('mailbox sync (worker side) against the real server', () => {
  it('A writes 1,000 rows and goes offline; B, new, gets them all; B edits and leaves; A comes back and gets the edits', async () => {
    const file = tempFile();
    const log: string[] = [];
    const s = await server(file, log);
    const token = 'mailbox-sync-test-token-1';
    const a = await member('a0a0a0a0a0a0a0a0', token);
    for (let i = 0; i < 1000; i += 100) await a.kit.upsert('notes', rows(i, 100, 'secret-text'));
    const syncA = await a.start(s.mailboxUrl!);
    await syncA.stop();
    expect(a.errors).toEqual([]);

    const b = await member('b0b0b0b0b0b0b0b0', token);
    const syncB = await b.start(s.mailboxUrl!);
    expect(await b.kit.dump('notes')).toHaveLength(1000);
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(b.progress.at(-1)).toMatchObject({ phase: 'log' });
    expect(b.progress.at(-1)!.done).toBe(b.progress.at(-1)!.total);
    // B's own commit (the merge) found nothing the mailbox lacks: no echo upload.
    const headAfterB = b.cursor.value!.seq;
    expect(headAfterB).toBe(a.cursor.value!.seq);
    await b.kit.upsert('notes', [['r00007', { body: 'edited by B' }]]);
    await b.kit.remove('notes', ['r00008']);
    await syncB.idle();
    expect(b.cursor.value!.seq).toBe(headAfterB + 2);
    await syncB.stop();

    await a.start(s.mailboxUrl!);
    expect(await a.kit.dump('notes')).toEqual(await b.kit.dump('notes'));
    expect(await a.kit.dump('notes')).toContain(JSON.stringify(['r00007', 'edited by B']));
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);

    // What the server stored and logged holds no plaintext, table name, node id or token.
    await s.close();
    const stored = readFileSync(file);
    for (const secret of ['secret-text', 'edited by B', 'notes', 'a0a0a0a0a0a0a0a0', 'b0b0b0b0b0b0b0b0', token]) {
      expect(stored.includes(Buffer.from(secret))).toBe(false);
      expect(log.join('\n')).not.toContain(secret);
    }
  });

  it('both online: edits arrive live through the mailbox push', async () => {
    const s = await server(tempFile());
    const a = await member('a1a1a1a1a1a1a1a1', 'live-token');
    const b = await member('b1b1b1b1b1b1b1b1', 'live-token');
    const syncA = await a.start(s.mailboxUrl!);
    await b.start(s.mailboxUrl!);
    expect(a.status).toEqual(['online']);
    await a.kit.upsert('notes', rows(0, 5, 'live'));
    await until(async () => (await b.kit.dump('notes')).length === 5);
    await b.kit.upsert('notes', [['r00001', { body: 'B wrote this' }]]);
    await until(async () => (await a.kit.dump('notes')).includes(JSON.stringify(['r00001', 'B wrote this'])));
    await syncA.idle();
    expect(await a.kit.dump('notes')).toEqual(await b.kit.dump('notes'));
  });

  it('another token sees none of the room; forged and replayed blobs are refused (AUTH), applied nowhere, and sync goes on', async () => {
    const s = await server(tempFile());
    const token = 'forgery-token';
    const a = await member('a2a2a2a2a2a2a2a2', token);
    await a.kit.upsert('notes', rows(0, 3, 'first'));
    await (await a.start(s.mailboxUrl!)).stop();

    const stranger = await member('c2c2c2c2c2c2c2c2', 'some-other-token');
    await (await stranger.start(s.mailboxUrl!)).stop();
    expect(await stranger.kit.dump('notes')).toEqual([]);

    // Someone holding the access key (not the seal key): appends garbage, a blob sealed with another
    // room's key, and a replay of blob 1 at a new position.
    const keys = await deriveMailboxKeys(token);
    const raw = await RawMailboxClient.connect(s.mailboxUrl!);
    cleanups.push(() => raw.close());
    const welcome = await raw.hello(keys.accessKey);
    const head = welcome.t === 'welcome' ? welcome.head : 0;
    const first = await raw.request({ t: 'read', after: 0, limit: 1 });
    const blob1 = first.t === 'blobs' ? first.items[0]!.blob : new Uint8Array();
    const otherRoom = await sealBlob(await deriveMailboxKeys('other'), { kind: 'changes', changes: { nodes: ['d2d2d2d2d2d2d2d2'], tables: [] }, signed: [], upTo: null }, head + 2);
    expect(await raw.request({ t: 'append', seq: head + 1, blob: new Uint8Array(64).fill(7) })).toMatchObject({ t: 'ack' });
    expect(await raw.request({ t: 'append', seq: head + 2, blob: otherRoom })).toMatchObject({ t: 'ack' });
    expect(await raw.request({ t: 'append', seq: head + 3, blob: blob1 })).toMatchObject({ t: 'ack' });

    const b = await member('b2b2b2b2b2b2b2b2', token);
    await b.kit.upsert('notes', [['r99999', { body: 'from B' }]]);
    const syncB = await b.start(s.mailboxUrl!);
    expect(b.errors.map((e) => e.code)).toEqual(['AUTH', 'AUTH', 'AUTH']);
    expect(await b.kit.dump('notes')).toHaveLength(4);
    // B's upload still lands after the refused blobs, and A gets it.
    await syncB.stop();
    await a.start(s.mailboxUrl!);
    expect(await a.kit.dump('notes')).toEqual(await b.kit.dump('notes'));
  });

  it('a member cannot forge authorship through the mailbox: blobs naming another member are refused by the downloader', async () => {
    const s = await server(tempFile());
    const token = 'authorship-token';
    const a = await member('a3a3a3a3a3a3a3a3', token);
    await a.kit.upsert('notes', rows(0, 2, 'real'));
    await (await a.start(s.mailboxUrl!)).stop();
    const A = a.kit.replica.nodeId;
    const realVector = a.kit.replica.getVector();

    // A room member (it has the token, so it seals valid blobs) with a key pair of its own.
    const keys = await deriveMailboxKeys(token);
    const attacker = await createSigningIdentity();
    const ahead = realVector[A]! + 1024;
    const forgedRow = (node: string, hlc: number) => ({ nodes: [node], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: ['r00000'], put: [hlc, 0] as [number, number], del: null, cells: [[0, 'forged', hlc, 0]] as Array<[number, string, number, number]> }] }] });
    const payload = encode(['rtc-battery signed set v1', attacker.scheme, attacker.publicKey, A, ahead, toWire(forgedRow(A, ahead))], { extensionCodec: negativeZeroCodec });
    const claimingA = encode([payload, new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, attacker.privateKey, payload))]);
    const raw = await RawMailboxClient.connect(s.mailboxUrl!);
    cleanups.push(() => raw.close());
    const welcome = await raw.hello(keys.accessKey);
    const head = welcome.t === 'welcome' ? welcome.head : 0;
    const blobs = [
      await sealBlob(keys, { kind: 'changes', changes: { nodes: [], tables: [] }, signed: [claimingA], upTo: { [A]: ahead } }, head + 1),
      await sealBlob(keys, { kind: 'changes', changes: forgedRow(A, LEGACY_HORIZON_HLC + 5), signed: [], upTo: { [A]: LEGACY_HORIZON_HLC + 5 } }, head + 2),
    ];
    for (const [i, blob] of blobs.entries()) expect(await raw.request({ t: 'append', seq: head + 1 + i, blob })).toMatchObject({ t: 'ack' });

    const b = await member('b3b3b3b3b3b3b3b3', token);
    await (await b.start(s.mailboxUrl!)).stop();
    expect(b.errors.map((e) => e.code)).toEqual(['AUTH', 'AUTH']);
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(b.kit.replica.getVector()[A]).toBe(realVector[A]);
    // What B keeps of A's writes is A's own signed bytes.
    for (const body of b.kit.replica.signedSince({}).map((x) => x.body)) expect((await verifyChangeSet(body)).author).toBe(A);
  });

  it('unsigned blob parts (format 2, and format-1 blobs) under a member this replica has seen sign are refused, whatever their stamp', async () => {
    const s = await server(tempFile());
    const token = 'known-author-token';
    const a = await member('a4a4a4a4a4a4a4a4', token);
    await a.kit.upsert('notes', rows(0, 2, 'real'));
    await (await a.start(s.mailboxUrl!)).stop();
    const A = a.kit.replica.nodeId;
    const b = await member('b4b4b4b4b4b4b4b4', token);
    const syncB = await b.start(s.mailboxUrl!);
    await syncB.stop();
    expect(b.kit.replica.isKnownAuthor(A)).toBe(true);
    const vectorA = b.kit.replica.getVector()[A];

    // Stamped before the horizon: as legacy history by its stamp alone, it would pass.
    const forged = (id: string) => ({ nodes: [A], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: [id], put: [LEGACY_HORIZON_HLC - 5, 0] as [number, number], del: null, cells: [[0, 'forged', LEGACY_HORIZON_HLC - 5, 0]] as Array<[number, string, number, number]> }] }] });
    const keys = await deriveMailboxKeys(token);
    const raw = await RawMailboxClient.connect(s.mailboxUrl!);
    cleanups.push(() => raw.close());
    const welcome = await raw.hello(keys.accessKey);
    const head = welcome.t === 'welcome' ? welcome.head : 0;
    const formatOne = new Uint8Array(encode({ v: 1, kind: 'changes', changes: toWire(forged('f1')), upTo: { [A]: LEGACY_HORIZON_HLC - 5 } }, { extensionCodec: negativeZeroCodec }));
    const blobs = [
      await sealBlob(keys, { kind: 'changes', changes: forged('f2'), signed: [], upTo: { [A]: LEGACY_HORIZON_HLC - 5 } }, head + 1),
      await sealPlain(keys, 'changes', formatOne, head + 2),
    ];
    for (const [i, blob] of blobs.entries()) expect(await raw.request({ t: 'append', seq: head + 1 + i, blob })).toMatchObject({ t: 'ack' });

    await (await b.start(s.mailboxUrl!)).stop();
    expect(b.errors.map((e) => e.code)).toEqual(['AUTH', 'AUTH']);
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(b.kit.replica.getVector()[A]).toBe(vectorA);
  });

  it('one exec bigger than a blob (several signed sets of one stamp) reaches a replica that only meets the downloader', async () => {
    const s = await server(tempFile());
    const token = 'split-stamp-token';
    const a = await member('a6a6a6a6a6a6a6a6', token);
    await a.kit.upsert('notes', rows(0, 700, 'bulk')); // one stamp; 300 rows per blob
    await (await a.start(s.mailboxUrl!)).stop();
    const b = await member('b6b6b6b6b6b6b6b6', token);
    await (await b.start(s.mailboxUrl!)).stop();
    expect(await b.kit.dump('notes')).toHaveLength(700);

    const { keys } = await roomFor(token);
    const c = await durableKit.create('c6c6c6c6c6c6c6c6', { notes: ['body'] });
    const nodeB = makeNode('b', b.kit.replica, keys);
    const nodeC = makeNode('c', c.replica, keys);
    connect(nodeB, nodeC);
    await until(() => readyCount(nodeC, nodeB) === 1);
    await until(async () => JSON.stringify(c.replica.getVector()) === JSON.stringify(b.kit.replica.getVector()));
    // B's three sets of the stamp fit one delta message (2,000 rows), applied in one transaction
    // with the vector; the ticks only let its events settle.
    await ticks(20);
    expect(errorsOf(nodeC)).toEqual([]);
    expect(await c.dump('notes')).toEqual(await a.kit.dump('notes'));
  });

  it('compaction: past the threshold a member uploads one snapshot; a newcomer gets the same tables from snapshot + tail', async () => {
    const file = tempFile();
    const s = await server(file);
    const token = 'compaction-token';
    const a = await member('a5a5a5a5a5a5a5a5', token);
    const syncA = await a.start(s.mailboxUrl!, 4);
    for (let i = 0; i < 6; i += 1) {
      await a.kit.upsert('notes', rows(i * 10, 10, `batch-${i}`));
      await a.kit.remove('notes', [`r${String(i * 10).padStart(5, '0')}`]);
      await syncA.idle(); // one upload per batch (see compactedBy)
    }
    await a.kit.upsert('notes', [['r00001', { body: 'tail edit' }]]);
    await syncA.idle();
    await syncA.stop();

    const raw = await RawMailboxClient.connect(s.mailboxUrl!);
    cleanups.push(() => raw.close());
    const welcome = await raw.hello((await deriveMailboxKeys(token)).accessKey);
    expect(welcome).toMatchObject({ t: 'welcome', snapshot: { covers: expect.any(Number) } });
    const covers = welcome.t === 'welcome' ? welcome.snapshot!.covers : 0;
    const head = welcome.t === 'welcome' ? welcome.head : 0;
    expect(covers).toBeGreaterThanOrEqual(4);
    const log = await raw.request({ t: 'read', after: 0, limit: 100 });
    // The server dropped every blob the snapshot covers; what is left is the tail.
    expect(log.t === 'blobs' && log.items.map((i) => i.seq)).toEqual(Array.from({ length: head - covers }, (_, i) => covers + 1 + i));

    const c = await member('c5c5c5c5c5c5c5c5', token);
    await c.start(s.mailboxUrl!);
    expect(await c.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(c.progress.some((p) => p.phase === 'snapshot')).toBe(true);
    expect(c.errors).toEqual([]);
  });

  it('over the quota: a clear QUOTA error, nothing half-stored; with room again the next start uploads it all', async () => {
    const file = tempFile();
    const small = await createBatteryServer({ port: 0, host: '127.0.0.1', mailbox: { path: file, quotaBytes: 3000 }, log: () => {} });
    const a = await member('a6a6a6a6a6a6a6a6', 'quota-token');
    await a.kit.upsert('notes', rows(0, 600, 'quota'));
    await expect(a.start(small.mailboxUrl!)).rejects.toMatchObject({ code: 'QUOTA' });
    await a.sync!.stop();
    expect(a.errors.map((e) => e.code)).toContain('QUOTA');
    await small.close();
    const roomy = await server(file);
    await (await a.start(roomy.mailboxUrl!)).stop();
    const b = await member('b6b6b6b6b6b6b6b6', 'quota-token');
    await (await b.start(roomy.mailboxUrl!)).stop();
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(await b.kit.dump('notes')).toHaveLength(600);
  });

  it('an upload refused by the rate limit is tried again until the mailbox holds everything', async () => {
    const file = tempFile();
    const strict = await createBatteryServer({ port: 0, host: '127.0.0.1', mailbox: { path: file, requestsPerSecond: 4, requestBurst: 4 }, log: () => {} });
    cleanups.push(() => strict.close());
    const a = await member('a7a7a7a7a7a7a7a7', 'rate-token');
    await a.start(strict.mailboxUrl!, undefined, { firstRetryMs: 50 });
    // 1,500 rows at 300 per blob: five appends, past what the bucket holds after the start.
    await a.kit.upsert('notes', rows(0, 1500, 'rated'));
    const vector = a.kit.replica.getVector();
    await until(() => {
      const held = a.cursor.value?.vector ?? {};
      return Object.entries(vector).every(([node, hlc]) => (held[node] ?? -1) >= hlc);
    });
    expect(a.errors.some((e) => e.code === 'SIGNALING' && typeof e.detail?.retryAfterMs === 'number')).toBe(true);
    await a.sync!.stop();
    await strict.close();
    const open = await server(file);
    const b = await member('b7b7b7b7b7b7b7b7', 'rate-token');
    await (await b.start(open.mailboxUrl!)).stop();
    expect(await b.kit.dump('notes')).toHaveLength(1500);
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
  });

  it('a snapshot download cut mid-way resumes from the stored offset on reconnect, and the tables equal the source', async () => {
    const s = await server(tempFile());
    const token = 'resume-token';
    const a = await member('a7a7a7a7a7a7a7a7', token);
    await compactedBy(a, s.mailboxUrl!, 0);
    const { size } = await snapshotOnServer(s.mailboxUrl!, token);
    expect(size).toBeGreaterThan(4 * CHUNK);

    const c = await member('c7c7c7c7c7c7c7c7', token);
    const cut = snapshotWatch(3);
    await expect(c.start(s.mailboxUrl!, undefined, { socketFactory: cut.socketFactory, snapshotChunkBytes: CHUNK })).rejects.toMatchObject({ code: 'SIGNALING' });
    await c.sync!.stop();
    expect(cut.seen.offsets).toEqual([0, CHUNK]);
    const held = await replicaSnapshotStore(c.kit.replica, 'mailbox-test').load();
    expect(held?.pieces.map((p) => p.length)).toEqual([CHUNK, CHUNK]);
    expect(await c.kit.dump('notes')).toEqual([]); // nothing applied from a partial snapshot

    c.errors.length = 0;
    c.progress.length = 0;
    const again = snapshotWatch();
    await c.start(s.mailboxUrl!, undefined, { socketFactory: again.socketFactory, snapshotChunkBytes: CHUNK });
    expect(again.seen.offsets[0]).toBe(2 * CHUNK);
    expect(again.seen.bytes).toBe(size - 2 * CHUNK);
    expect(again.seen.bytes).toBeLessThan(size);
    expect(c.progress[0]).toEqual({ phase: 'snapshot', done: 2 * CHUNK, total: size });
    expect(await c.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(c.errors).toEqual([]);
    expect(await replicaSnapshotStore(c.kit.replica, 'mailbox-test').load()).toBeUndefined();
  });

  it('a snapshot that changed while the download was cut off is downloaded again from offset 0', async () => {
    const s = await server(tempFile());
    const token = 'changed-snapshot-token';
    const a = await member('a8a8a8a8a8a8a8a8', token);
    await compactedBy(a, s.mailboxUrl!, 0);
    const first = await snapshotOnServer(s.mailboxUrl!, token);

    const c = await member('c8c8c8c8c8c8c8c8', token);
    const cut = snapshotWatch(3);
    await expect(c.start(s.mailboxUrl!, undefined, { socketFactory: cut.socketFactory, snapshotChunkBytes: CHUNK })).rejects.toMatchObject({ code: 'SIGNALING' });
    await c.sync!.stop();
    expect((await replicaSnapshotStore(c.kit.replica, 'mailbox-test').load())?.covers).toBe(first.covers);

    await compactedBy(a, s.mailboxUrl!, 1);
    const second = await snapshotOnServer(s.mailboxUrl!, token);
    expect(second.covers).toBeGreaterThan(first.covers);

    c.errors.length = 0;
    const again = snapshotWatch();
    await c.start(s.mailboxUrl!, undefined, { socketFactory: again.socketFactory, snapshotChunkBytes: CHUNK });
    expect(again.seen.offsets[0]).toBe(0);
    expect(again.seen.bytes).toBe(second.size);
    expect(await c.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(c.errors).toEqual([]);
  });
});
