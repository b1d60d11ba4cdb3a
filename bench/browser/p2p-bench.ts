// P2P benchmarks in Chromium (`npm run build && npx tsx bench/browser/p2p-bench.ts`): two users
// in one room, ratios against raw RTCDataChannels opened between the same two pages in the same
// run. Peer connections need a network interface with an address, so on Linux as root this
// script re-runs itself inside the private network namespace (README "Browser tests").
//
//   initial sync: 100k rows to an empty peer until queryable, vs the same number of bytes over a
//                 raw DataChannel (both measured from "start" to "all there"); bytes per row
//   write→watch:  a 1-row write on A until B's watch sees it, vs half a raw DataChannel ping-pong
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { startBrowserSession, type BrowserSession, type User } from '../../spec/browser/harness/browser-session.js';
import { connectTab, exec } from '../../spec/browser/harness/battery-tab.js';
import { startPeerServer, type TestPeerServer } from '../../spec/browser/harness/peer-server.js';
import { NOTES_SCHEMA } from '../../spec/browser/p2p/room-tabs.js';
import { detail, median, ratioLine } from './stats.js';
import { runInPrivateNetwork } from '../../spec/browser/harness/private-network.mjs';

const ROWS = 100_000;
const LATENCY_SAMPLES = 41; // the first is a warm-up and dropped
const SYNC_SAMPLES = 5;
// A strong room token (the library refuses weak ones), fresh per run.
const TOKEN = randomBytes(16).toString('hex');

declare global {
  interface Window {
    capturedPcs?: RTCPeerConnection[];
    raw?: { pc: RTCPeerConnection; dc?: RTCDataChannel; createdAt: number };
  }
}

/**
 * Keeps every RTCPeerConnection the page creates, so their stats can be read afterwards. A string,
 * not a function: tsx compiles with keepNames, and its `__name` helper does not exist in the page.
 */
const CAPTURE_PEER_CONNECTIONS = `(() => {
  const Original = window.RTCPeerConnection;
  const captured = [];
  window.capturedPcs = captured;
  function Patched(...args) {
    const pc = new Original(...args);
    captured.push(pc);
    return pc;
  }
  Patched.prototype = Original.prototype;
  Object.setPrototypeOf(Patched, Original);
  window.RTCPeerConnection = Patched;
})();`;

/**
 * Runs `body` (an async function source) in the page without holding a CDP call open for its
 * whole duration (puppeteer's protocolTimeout is 60 s; syncing 100k rows may take longer), then
 * waits for its result with polling. Sources are strings for the same keepNames reason as above.
 */
async function inBackground<T>(page: Page, body: string, arg: unknown): Promise<T> {
  await page.evaluate(`(() => {
    const w = window;
    w.benchJob = undefined;
    (${body})(${JSON.stringify(arg)}).then(
      (value) => { w.benchJob = { ok: true, value }; },
      (e) => { w.benchJob = { ok: false, error: String(e && e.stack || e) }; },
    );
  })()`);
  // Polled from here: a waitForFunction is one CDP call, also bound by the 60 s protocolTimeout.
  while (!(await page.evaluate('window.benchJob !== undefined'))) await new Promise((r) => setTimeout(r, 50));
  const job = (await page.evaluate('window.benchJob')) as { ok: boolean; value?: T; error?: string };
  if (!job.ok) throw new Error(job.error);
  return job.value as T;
}

async function openBenchTab(user: User, session: BrowserSession, server: TestPeerServer, label: string, durability = 'strict'): Promise<Page> {
  const page = await user.context.newPage();
  session.log.label(page, label);
  await page.evaluateOnNewDocument(CAPTURE_PEER_CONNECTIONS);
  await page.goto(`${session.origin}/tab.html`, { waitUntil: 'load' });
  await connectTab(page, { dbName: 'p2p-bench', mode: 'shared', signalingUrl: server.url, token: `${TOKEN}-${durability}`, iceServers: [], durability });
  await exec(page, NOTES_SCHEMA);
  await page.evaluate(() => window.db!.enableSync('notes'));
  return page;
}

async function connect(page: Page): Promise<void> {
  await page.evaluate(() => (window.db as unknown as { connect(): Promise<void> }).connect());
}

/** Payload and wire bytes received by the page's peer connections (data channels / DTLS transport). */
async function bytesReceived(page: Page): Promise<{ payload: number; wire: number }> {
  return page.evaluate(async () => {
    let payload = 0;
    let wire = 0;
    for (const pc of window.capturedPcs ?? []) {
      const stats = await pc.getStats();
      stats.forEach((s: { type: string; bytesReceived?: number }) => {
        if (s.type === 'data-channel') payload += s.bytesReceived ?? 0;
        if (s.type === 'transport') wire += s.bytesReceived ?? 0;
      });
    }
    return { payload, wire };
  });
}

// ------------------------------------------------------------------ raw DataChannel baseline

async function rawConnect(a: Page, b: Page): Promise<{ setupMs: number }> {
  const gather = `new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); })`;
  const offer = await a.evaluate(async (gather) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.raw = { pc, createdAt: performance.now() };
    const dc = pc.createDataChannel('raw', { ordered: true });
    dc.binaryType = 'arraybuffer';
    window.raw.dc = dc;
    await pc.setLocalDescription(await pc.createOffer());
    await eval(gather);
    return pc.localDescription!.toJSON();
  }, gather);
  const answer = await b.evaluate(async (offer, gather) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.raw = { pc, createdAt: performance.now() };
    pc.ondatachannel = (e) => {
      e.channel.binaryType = 'arraybuffer';
      window.raw!.dc = e.channel;
    };
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await eval(gather);
    return pc.localDescription!.toJSON();
  }, offer, gather);
  const setupMs = await a.evaluate(async (answer) => {
    await window.raw!.pc.setRemoteDescription(answer);
    const dc = window.raw!.dc!;
    if (dc.readyState !== 'open') await new Promise((r) => (dc.onopen = r));
    return performance.now() - window.raw!.createdAt;
  }, answer);
  await b.waitForFunction(() => window.raw?.dc?.readyState === 'open', { polling: 20, timeout: 0 });
  return { setupMs };
}

/** A sends `total` bytes in 64 KiB messages with bufferedAmount back-pressure; B acks the last byte. */
async function rawTransfer(a: Page, b: Page, total: number): Promise<number> {
  await b.evaluate((total) => {
    const dc = window.raw!.dc!;
    let got = 0;
    dc.onmessage = (e) => {
      got += (e.data as ArrayBuffer).byteLength;
      if (got >= total) dc.send(new Uint8Array([1]));
    };
  }, total);
  return a.evaluate(async (total) => {
    const dc = window.raw!.dc!;
    const chunk = new Uint8Array(64 * 1024);
    dc.bufferedAmountLowThreshold = 256 * 1024;
    const acked = new Promise<number>((r) => (dc.onmessage = () => r(performance.now())));
    const t0 = performance.now();
    let sent = 0;
    while (sent < total) {
      if (dc.bufferedAmount > 1024 * 1024) await new Promise((r) => (dc.onbufferedamountlow = r));
      const n = Math.min(chunk.byteLength, total - sent);
      dc.send(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      sent += n;
    }
    return (await acked) - t0;
  }, total);
}

async function rawHalfRtt(a: Page, b: Page, samples: number): Promise<number> {
  await b.evaluate(() => {
    const dc = window.raw!.dc!;
    dc.onmessage = (e) => dc.send(e.data as ArrayBuffer);
  });
  return a.evaluate(async (samples) => {
    const dc = window.raw!.dc!;
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const back = new Promise<void>((r) => (dc.onmessage = () => r()));
      const t0 = performance.now();
      dc.send(new Uint8Array([i & 255]));
      await back;
      out.push((performance.now() - t0) / 2);
    }
    out.shift();
    out.sort((x, y) => x - y);
    return out[out.length >> 1]!;
  }, samples);
}

// ------------------------------------------------------------------ the library

async function batteryInitialSync(b: Page): Promise<{ totalMs: number; afterReadyMs: number }> {
  return inBackground(b, `async (rows) => {
    const db = window.db;
    let readyAt = 0;
    db.on('peer-ready', () => { if (!readyAt) readyAt = performance.now(); });
    let stop = () => {};
    const done = new Promise((resolve) => {
      stop = db.watch('SELECT count(*) AS c FROM notes', [], (r) => {
        if (r.rows[0] && r.rows[0].c === rows) resolve(performance.now());
      });
    });
    const t0 = performance.now();
    await db.connect();
    const t1 = await done;
    // This watch only times the sync; the write->watch samples later on this page time their own.
    stop();
    return { totalMs: t1 - t0, afterReadyMs: t1 - readyAt };
  }`, ROWS);
}

async function batteryWriteToWatch(a: Page, b: Page, samples: number): Promise<number> {
  await b.evaluate(() => {
    const seen: Record<number, number> = {};
    (window as unknown as { seen: Record<number, number> }).seen = seen;
    void (window.db as unknown as { watch(s: string, p: unknown[], cb: (r: { rows: Array<{ n: number }> }) => void): unknown }).watch(
      "SELECT n FROM notes WHERE id = 'latency'",
      [],
      (r) => {
        const n = r.rows[0]?.n;
        if (typeof n === 'number' && seen[n] === undefined) seen[n] = performance.timeOrigin + performance.now();
      },
    );
  });
  const out: number[] = [];
  for (let k = 1; k <= samples; k++) {
    const t0 = await a.evaluate(async (k) => {
      const t = performance.timeOrigin + performance.now();
      await window.db!.exec("INSERT INTO notes VALUES ('latency', 'ping', ?) ON CONFLICT(id) DO UPDATE SET n = excluded.n", [k]);
      return t;
    }, k);
    await b.waitForFunction((k) => (window as unknown as { seen: Record<number, number> }).seen[k] !== undefined, { polling: 5, timeout: 0 }, k);
    const t1 = await b.evaluate((k) => (window as unknown as { seen: Record<number, number> }).seen[k]!, k);
    out.push(t1 - t0);
  }
  out.shift();
  return median(out);
}

export async function benchP2p(session: BrowserSession, server: TestPeerServer): Promise<string[]> {
  const a = await openBenchTab(await session.newUser('bench-a'), session, server, 'bench-a');
  const insertMs = await inBackground<number>(a, `async (rows) => {
    const t0 = performance.now();
    await window.db.exec("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " + rows + ") " +
      "INSERT INTO notes SELECT printf('row-%06d', i), printf('body text %06d', i), i FROM c");
    return performance.now() - t0;
  }`, ROWS);
  console.log(`(setup: ${ROWS} rows inserted on A in ${insertMs.toFixed(0)} ms)`);
  await connect(a);
  // SYNC_SAMPLES receivers, each a fresh user syncing the 100k rows from A, interleaved with as
  // many raw transfers of the bytes the first one received (over a raw channel to that receiver).
  const totals: number[] = [];
  const afterReady: number[] = [];
  const raws: number[] = [];
  const rawSetups: number[] = [];
  let b: Page | null = null;
  let bytes = { payload: 0, wire: 0 };
  for (let i = 0; i < SYNC_SAMPLES; i++) {
    const receiver = await openBenchTab(await session.newUser(`bench-b${i}`), session, server, `bench-b${i}`);
    const sync = await batteryInitialSync(receiver);
    totals.push(sync.totalMs);
    afterReady.push(sync.afterReadyMs);
    if (!b) {
      b = receiver;
      bytes = await bytesReceived(b);
      rawSetups.push((await rawConnect(a, b)).setupMs);
    } else {
      await receiver.close();
    }
    raws.push(await rawTransfer(a, b, bytes.payload));
  }
  if (!b) throw new Error('no receiver');
  detail('p2p initial-sync', { 'battery connect->queryable': totals, 'battery peer-ready->queryable': afterReady, raw: raws, 'raw setup': rawSetups });
  const lines = [
    ratioLine(`p2p initial-sync (connect->queryable, ${SYNC_SAMPLES} samples per side)`, [`battery ${ROWS} rows`, median(totals)], [`raw setup+${bytes.payload} B`, median(rawSetups) + median(raws)], 'ms', 2.0),
    ratioLine(`p2p initial-sync (peer-ready->queryable, ${SYNC_SAMPLES} samples per side)`, [`battery ${ROWS} rows`, median(afterReady)], [`raw ${bytes.payload} B`, median(raws)], 'ms', 2.0),
    ratioLine('p2p bytes per row on the DTLS transport vs 100 B', ['battery', bytes.wire / ROWS], ['budget', 100], 'B/row', 1.0),
  ];
  const latency = await batteryWriteToWatch(a, b, LATENCY_SAMPLES);
  const halfRtt = await rawHalfRtt(a, b, LATENCY_SAMPLES);
  lines.push(ratioLine('p2p write->remote-watch', ['battery median', latency], ['raw half ping-pong', halfRtt], 'ms', 10));
  // The same with durability 'relaxed' on both sides (IndexedDB's relaxed commit hint), in its own room.
  const ra = await openBenchTab(await session.newUser('bench-ra'), session, server, 'bench-ra', 'relaxed');
  const rb = await openBenchTab(await session.newUser('bench-rb'), session, server, 'bench-rb', 'relaxed');
  await connect(ra);
  await connect(rb);
  await rb.waitForFunction(() => (window.db as unknown as { getPeers(): string[] }).getPeers().length === 1, { polling: 20, timeout: 30_000 });
  const relaxed = await batteryWriteToWatch(ra, rb, LATENCY_SAMPLES);
  lines.push(ratioLine('p2p write->remote-watch (relaxed durability)', ['battery median', relaxed], ['raw half ping-pong', halfRtt], 'ms', 10));
  return lines;
}

// ------------------------------------------------------------------ entry

async function main(): Promise<void> {
  if (!process.env.P2P_BENCH_IN_NETNS) {
    // Re-run this file inside the private network namespace (WebRTC needs a non-loopback interface).
    process.env.P2P_BENCH_IN_NETNS = '1';
    runInPrivateNetwork(['npx', 'tsx', fileURLToPath(import.meta.url)], { label: 'p2p-bench' });
    return;
  }
  const server = await startPeerServer({ log: () => {} });
  const session = await startBrowserSession();
  let failed = false;
  try {
    for (const line of await benchP2p(session, server)) console.log(line);
  } catch (e) {
    failed = true;
    console.log(`browser p2p: FAILED ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    console.log(session.log.dump());
  } finally {
    await session.close();
    await server.close();
  }
  // npm `peer` keeps two sweep timers alive that cannot be stopped (see peer-server/server.ts).
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
