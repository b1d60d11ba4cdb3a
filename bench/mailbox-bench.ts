/**
 * The mailbox in Node (`npx tsx bench/mailbox-bench.ts`, or via bench/run.ts), against a real
 * server on 127.0.0.1:
 *   1. upload + download of 100k rows through the mailbox (seal, append, commit, read, open,
 *      validate, apply into an empty durable replica) against sending the same change set's raw
 *      wire bytes through a plain WebSocket echo and applying them (goal <= 2.0x);
 *   2. server throughput (16 KiB blobs appended one after another) with the SQLite and the
 *      Postgres store (informational: blobs/s and MB/s);
 *   3. bytes stored per row against the peer protocol's wire bytes per row (goal <= 1.5x).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Encoder, decode } from '@msgpack/msgpack';
import { WebSocket, WebSocketServer } from 'ws';
import { createBatteryServer, type BatteryServer } from '../peer-server/index.js';
import { replicaSnapshotStore } from '../shared-worker/sync/mailbox-snapshot-store.js';
import { negativeZeroCodec } from '../shared-worker/replica/contracts/msgpack-negative-zero.js';
import type { DurableReplica } from '../shared-worker/replica/contracts/replica-types.js';
import { openItemsReplica } from './items-replica.js';
import type { MailboxSocket } from '../shared-worker/sync/mailbox-client.js';
import { deriveMailboxKeys } from '../shared-worker/sync/mailbox-keys.js';
import { MailboxSync, type MailboxCursor } from '../shared-worker/sync/mailbox-sync.js';
import { fromWire, toWire } from '../shared-worker/sync/wire-changes.js';
import { RawMailboxClient } from '../spec/node/peer-server/mailbox/raw-mailbox-client.js';
import { startPostgresCluster } from '../spec/node/peer-server/mailbox/postgres-cluster.js';

const ROWS = 100_000;
const PER_EXEC = 1_000;
const encoder = new Encoder({ extensionCodec: negativeZeroCodec });

async function source(): Promise<DurableReplica> {
  const a = await openItemsReplica('c0000000000000a1');
  for (let start = 0; start < ROWS; start += PER_EXEC) {
    const params: unknown[] = [];
    for (let i = start; i < start + PER_EXEC; i++) params.push(`item-${i}`, `title ${i}`, i % 97, i % 3 === 0 ? null : `note ${i}`);
    await a.exec(`INSERT INTO items VALUES ${Array.from({ length: PER_EXEC }, () => '(?, ?, ?, ?)').join(', ')}`, params as never);
  }
  return a;
}

function sync(url: string, replica: DurableReplica, keys: Awaited<ReturnType<typeof deriveMailboxKeys>>): MailboxSync {
  let cursor: MailboxCursor | undefined;
  return new MailboxSync({
    url,
    keys,
    replica,
    socketFactory: (u) => new WebSocket(u) as unknown as MailboxSocket,
    cursorStore: { load: async () => cursor, save: async (c) => void (cursor = c) },
    snapshotStore: replicaSnapshotStore(replica, 'mailbox-bench'),
    events: { status: () => {}, progress: () => {}, error: (e) => { throw e; } },
  });
}

async function mailboxRoundTrip(server: BatteryServer, a: DurableReplica, token: string): Promise<number> {
  const keys = await deriveMailboxKeys(token);
  const b = await openItemsReplica('c0000000000000b2');
  const t0 = performance.now();
  const up = sync(server.mailboxUrl!, a, keys);
  await up.start();
  await up.stop();
  const down = sync(server.mailboxUrl!, b, keys);
  await down.start();
  const ms = performance.now() - t0;
  await down.stop();
  if (b.changesSince({}).tables[0]?.rows.length !== ROWS) throw new Error('mailbox bench: the download lost rows');
  await b.close();
  return ms;
}

/** The same change set's wire bytes through a plain WebSocket echo, decoded and applied on the other side. */
async function rawRoundTrip(a: DurableReplica): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 30 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
  const b = await openItemsReplica('c0000000000000b3');
  const t0 = performance.now();
  const bytes = encoder.encode(toWire(a.changesSince({})));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  await new Promise<void>((r) => ws.once('open', () => r()));
  const echoed = await new Promise<Buffer>((r) => {
    ws.once('message', (d: Buffer) => r(d));
    ws.send(bytes);
  });
  await b.applyChanges(fromWire(decode(echoed, { extensionCodec: negativeZeroCodec })));
  const ms = performance.now() - t0;
  ws.close();
  await new Promise<void>((r) => wss.close(() => r()));
  await b.close();
  return ms;
}

async function throughput(server: BatteryServer): Promise<{ blobsPerSec: number; mbPerSec: number }> {
  const client = await RawMailboxClient.connect(server.mailboxUrl!);
  await client.hello(new Uint8Array(32).map(() => Math.floor(Math.random() * 256)));
  const N = 300;
  const blob = new Uint8Array(16 * 1024).fill(5);
  const t0 = performance.now();
  for (let seq = 1; seq <= N; seq++) {
    const r = await client.request({ t: 'append', seq, blob });
    if (r.t !== 'ack') throw new Error(`throughput bench: append refused (${JSON.stringify(r)})`);
  }
  const s = (performance.now() - t0) / 1000;
  await client.close();
  return { blobsPerSec: N / s, mbPerSec: (N * blob.length) / s / 1e6 };
}

export async function run(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-bench-'));
  const lines: string[] = [];
  const server = await createBatteryServer({ port: 0, log: () => {}, mailbox: { path: join(dir, 'mailbox.sqlite'), requestsPerSecond: 1e6, requestBurst: 1e6 } });
  try {
    const a = await source();
    const raw = await rawRoundTrip(a);
    const mailbox = await mailboxRoundTrip(server, a, 'bench-token-0123456789abcdef');
    const ratio = mailbox / raw;
    lines.push(`mailbox-upload-download-100k: ${ratio.toFixed(2)}x (goal <= 2.0) ${ratio <= 2 ? 'ok' : 'OVER'}  [mailbox ${mailbox.toFixed(0)} ms, raw WebSocket + apply ${raw.toFixed(0)} ms]`);
    const wireBytes = encoder.encode(toWire(a.changesSince({}))).length;
    const storedBytes = await storedBytesOf(join(dir, 'mailbox.sqlite'));
    const perRow = storedBytes / ROWS;
    const wirePerRow = wireBytes / ROWS;
    lines.push(`mailbox-bytes-per-row: ${(perRow / wirePerRow).toFixed(2)}x (goal <= 1.5) ${perRow / wirePerRow <= 1.5 ? 'ok' : 'OVER'}  [stored ${perRow.toFixed(1)} B/row, peer wire form ${wirePerRow.toFixed(1)} B/row]`);
    const sq = await throughput(server);
    lines.push(`mailbox-throughput-sqlite: ${sq.blobsPerSec.toFixed(0)} blobs/s, ${sq.mbPerSec.toFixed(1)} MB/s (16 KiB blobs, one client, ack after commit)`);
    await a.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const cluster = await startPostgresCluster();
  try {
    const pgServer = await createBatteryServer({ port: 0, log: () => {}, mailbox: { postgres: cluster.connection, requestsPerSecond: 1e6, requestBurst: 1e6 } });
    try {
      const p = await throughput(pgServer);
      lines.push(`mailbox-throughput-postgres: ${p.blobsPerSec.toFixed(0)} blobs/s, ${p.mbPerSec.toFixed(1)} MB/s (16 KiB blobs, one client, ack after commit; test cluster with fsync=off)`);
    } finally {
      await pgServer.close();
    }
  } finally {
    await cluster.stop();
  }
  return lines;
}

async function storedBytesOf(file: string): Promise<number> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT coalesce(sum(bytes), 0) AS b FROM mailboxes').get() as { b: number }).b;
  } finally {
    db.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await run()) console.log(line);
}
