/**
 * Peer sync in Node over in-memory links (`npx tsx bench/sync-bench.ts`, or via bench/run.ts):
 *   1. initial sync of 100k rows (written in 100 execs of 1000) from a real durable replica to an
 *      empty one — authentication, hello, stamp-ordered delta pieces, encrypt, frame, reassemble,
 *      decrypt, validate, apply + durable log — against a plain msgpack encode + transfer of the
 *      same change set (its in-memory form) through the same kind of link in the same 64 KiB
 *      frames, then decode;
 *   2. the same sync against applying that change set directly to an empty durable replica (no
 *      network): what the sync engine adds on top of the replica's own merge cost;
 *   3. bytes on the wire per row (compact wire form, sealed, framed, plus the handshake and acks),
 *      against the plain msgpack bytes of the same change set.
 * The sync's timer stops when the receiver has the last piece in storage (whenDurable), not when
 * its in-memory vector gets there. Medians of RUNS interleaved runs (wall time: two replicas and a
 * link talk through the event loop); one line per ratio in the bench-stats.ts shape.
 */
import { decode, encode } from '@msgpack/msgpack';
import { pathToFileURL } from 'node:url';
import { FRAME_HEADER_BYTES } from '../shared-worker/sync/framing.js';
import { MAX_FRAME_BYTES } from '../shared-worker/protocol/limits.js';
import { deriveRoomKeys } from '../shared-worker/sync/room-keys.js';
import type { ChangeSet } from '../shared-worker/replica/contracts/change-set.js';
import { peerIdFor } from '../shared-worker/protocol/ids.js';
import { openItemsReplica } from './items-replica.js';
import type { DurableReplica } from '../shared-worker/replica/contracts/replica-types.js';
import { createSyncCoordinator } from '../shared-worker/sync/sync-coordinator.js';
import { createLinkPair } from '../spec/node/shared-worker/sync/memory-link.js';
import { benchLine, RUNS } from './bench-stats.js';

const ROWS = 100_000;
const PER_EXEC = 1_000;

async function source(): Promise<DurableReplica> {
  const a = await openItemsReplica('b0000000000000a1');
  for (let start = 0; start < ROWS; start += PER_EXEC) {
    const params: Array<string | number> = [];
    for (let i = start; i < start + PER_EXEC; i++) params.push(`item-${i.toString(36).padStart(8, '0')}`, `title number ${i}`, i % 1000, i % 7 === 0 ? 'seven' : 'plain');
    await a.exec(`INSERT INTO items VALUES ${'(?, ?, ?, ?), '.repeat(PER_EXEC - 1)}(?, ?, ?, ?)`, params);
  }
  return a;
}

async function syncOnce(a: DurableReplica): Promise<{ ms: number; wireBytes: number }> {
  const keys = await deriveRoomKeys('bench room');
  const b = await openItemsReplica('b0000000000000b2');
  const target = a.getVector()[a.nodeId];
  const coordinator = (r: DurableReplica) => createSyncCoordinator({ replica: r, keys, selfPeerId: peerIdFor(keys.roomId, r.nodeId), emit: () => {} });
  const ca = coordinator(a);
  const cb = coordinator(b);
  const pair = createLinkPair(peerIdFor(keys.roomId, a.nodeId), peerIdFor(keys.roomId, b.nodeId));
  let wireBytes = 0;
  pair.intercept = (_from, f) => {
    wireBytes += f.length;
    return [f];
  };
  const t0 = performance.now();
  ca.addLink(pair.a);
  cb.addLink(pair.b);
  while ((b.getVector()[a.nodeId] ?? 0) < target!) await new Promise((r) => setTimeout(r, 1));
  await b.whenDurable!();
  const ms = performance.now() - t0;
  const rows = (await b.exec('SELECT count(*) AS n FROM items')).rows[0]!.n;
  if (rows !== ROWS) throw new Error(`synced ${rows} rows, expected ${ROWS}`);
  ca.close();
  cb.close();
  await b.close();
  return { ms, wireBytes };
}

/** The baseline: the same change set, msgpack-encoded, framed and moved through the same link, decoded. */
async function plainOnce(cs: ChangeSet): Promise<{ ms: number; bytes: number }> {
  const pair = createLinkPair('x', 'y');
  const chunks: Uint8Array[] = [];
  let received = 0;
  let total = -1;
  pair.b.onFrame((f) => {
    chunks.push(f.subarray(FRAME_HEADER_BYTES));
    received += f.length - FRAME_HEADER_BYTES;
  });
  const t0 = performance.now();
  const bytes = encode(cs);
  total = bytes.length;
  const payload = MAX_FRAME_BYTES - FRAME_HEADER_BYTES;
  for (let at = 0; at < bytes.length; at += payload) {
    while (pair.a.bufferedAmount() > 1024 * 1024) await new Promise<void>((r) => pair.a.onDrain(r));
    const frame = new Uint8Array(FRAME_HEADER_BYTES + Math.min(payload, bytes.length - at));
    frame.set(bytes.subarray(at, at + payload), FRAME_HEADER_BYTES);
    pair.a.send(frame);
  }
  while (received < total) await new Promise((r) => setTimeout(r, 1));
  const whole = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    whole.set(c, off);
    off += c.length;
  }
  decode(whole);
  return { ms: performance.now() - t0, bytes: total };
}

async function applyOnce(cs: ChangeSet): Promise<number> {
  const b = await openItemsReplica('b0000000000000c3');
  const t0 = performance.now();
  await b.applyChanges(cs);
  const ms = performance.now() - t0;
  await b.close();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
const ratioOfMedians = (a: number[], b: number[]) => median(a) / median(b);

export async function run(): Promise<string[]> {
  const a = await source();
  const cs = a.changesSince({});
  const syncMs: number[] = [];
  const plainMs: number[] = [];
  const applyMs: number[] = [];
  let wire = 0;
  let plainBytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const s = await syncOnce(a);
    const p = await plainOnce(cs);
    applyMs.push(await applyOnce(cs));
    syncMs.push(s.ms);
    plainMs.push(p.ms);
    wire = s.wireBytes;
    plainBytes = p.bytes;
  }
  await a.close();
  const lines = [
    benchLine('sync initial sync 100k rows (durable to durable, in-memory link) vs plain msgpack encode + transfer + decode', ratioOfMedians(syncMs, plainMs), 2.0,
      `${median(syncMs).toFixed(0)} ms vs ${median(plainMs).toFixed(0)} ms wall`),
    benchLine('sync initial sync 100k rows vs applyChanges of the same rows into an empty durable replica', ratioOfMedians(syncMs, applyMs), 2.0,
      `${median(syncMs).toFixed(0)} ms vs ${median(applyMs).toFixed(0)} ms wall`),
    benchLine('sync wire bytes per row (sealed, framed, handshake and acks) vs plain msgpack of the same change set', wire / plainBytes, 1.5,
      `${(wire / ROWS).toFixed(1)} vs ${(plainBytes / ROWS).toFixed(1)} B/row`),
  ];
  return lines;
}

// bench/run.ts prints what run() returns; run directly, print here.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) for (const l of await run()) console.log(l);
