import type { Page } from 'puppeteer-core';
import type { BrowserSession } from '../../spec/browser/harness/browser-session.js';
import { exec, openBatteryTab } from '../../spec/browser/harness/battery-tab.js';
import '../../spec/browser/harness/page-globals.js';
import { detail, median, ratioLine } from './stats.js';

const WRITES_PER_ROUND = 200;
const ROUNDS = 5; // the first of each kind is a warm-up and dropped

// Tab B stamps the moment the notification arrives (performance.timeOrigin + now(), comparable
// across tabs of one machine), then tells tab A on a BroadcastChannel so A can go on; A stamps
// just before its write. The channel only paces the loop and is outside the timed span.

/** Installs B's listener for either the battery's `change` event or the raw worker's relay. */
type Kind = 'battery' | 'raw' | 'raw-durable';

function listenInB(page: Page, kind: 'battery' | 'raw'): Promise<void> {
  return page.evaluate((kind) => {
    const ack = new BroadcastChannel('bench-change-ack');
    const stamp = (): void => ack.postMessage(performance.timeOrigin + performance.now());
    if (kind === 'battery') {
      window.db!.on('change', stamp);
    } else {
      const w = new SharedWorker('/bench/echo-worker.js', { name: 'bench-relay' });
      w.port.onmessage = stamp;
      w.port.start();
    }
  }, kind);
}

function roundInA(page: Page, kind: Kind, round: number): Promise<number> {
  return page.evaluate(async (kind, n, round) => {
    const ack = new BroadcastChannel('bench-change-ack');
    let arrived: (t: number) => void = () => {};
    ack.onmessage = (e) => arrived(e.data as number);
    const g = window as unknown as { relay?: SharedWorker };
    if (kind !== 'battery' && !g.relay) {
      g.relay = new SharedWorker('/bench/echo-worker.js', { name: 'bench-relay' });
      g.relay.port.start();
    }
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const seen = new Promise<number>((r) => (arrived = r));
      const t0 = performance.timeOrigin + performance.now();
      let written: Promise<unknown> = Promise.resolve();
      if (kind === 'battery') {
        written = window.db!.exec('INSERT INTO notes (id, body) VALUES (?, ?)', [`${round}-${i}`, 'hello from A']);
      } else if (kind === 'raw') {
        g.relay!.port.postMessage({ kind: 'relay', tables: ['notes'] });
      } else {
        g.relay!.port.postMessage({ kind: 'relay-durable', tables: ['notes'], key: `${round}-${i}`, row: ['hello from A'] });
      }
      samples.push((await seen) - t0);
      await written;
    }
    ack.close();
    samples.sort((a, b) => a - b);
    return samples[samples.length >> 1]!;
  }, kind, WRITES_PER_ROUND, round);
}

export async function benchChangeLatency(session: BrowserSession): Promise<string[]> {
  const user = await session.newUser('bench-change');
  try {
    const a = await openBatteryTab(user, { dbName: 'bench-change' }, 'bench/A');
    const b = await openBatteryTab(user, { dbName: 'bench-change' }, 'bench/B');
    await exec(a, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await a.evaluate(() => window.db!.enableSync('notes'));
    await listenInB(b, 'battery');
    await listenInB(b, 'raw');
    const battery: number[] = [];
    const raw: number[] = [];
    const rawDurable: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      battery.push(await roundInA(a, 'battery', round));
      raw.push(await roundInA(a, 'raw', round));
      rawDurable.push(await roundInA(a, 'raw-durable', round));
    }
    detail('write-to-change', { battery, raw, rawDurable });
    const subject: [string, number] = ['battery write in A -> change in B', median(battery.slice(1))];
    // The first goal is out of reach for any write acknowledged only after IndexedDB has it: the
    // raw relay that first commits one IndexedDB put measured 0.59-0.69 ms against 0.15-0.23 ms for
    // the plain relay (3.1-3.6x, loaded 2-core box), before any SQL runs. The second line is the
    // fair one. Measured with durability 'relaxed' as well: 1.22 ms vs 0.54 ms (2.27), the same
    // ratio as the default 'strict' (2.1-2.3), so the hint is not what separates the two.
    return [
      ratioLine('write-to-change', subject, ['raw A -> SharedWorker -> B relay', median(raw.slice(1))], 'ms', 3),
      // Not a goal of the brief: shows how much of the gap is the IndexedDB commit a durable
      // write cannot skip (an exec is acknowledged only after its changes are in IndexedDB).
      ratioLine('write-to-change-vs-durable-relay', subject, ['raw relay after one IndexedDB put', median(rawDurable.slice(1))], 'ms', 3),
    ];
  } finally {
    await user.close();
  }
}
