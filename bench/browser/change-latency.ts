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

function roundInA(page: Page, kind: 'battery' | 'raw', round: number): Promise<number> {
  return page.evaluate(async (kind, n, round) => {
    const ack = new BroadcastChannel('bench-change-ack');
    let arrived: (t: number) => void = () => {};
    ack.onmessage = (e) => arrived(e.data as number);
    const g = window as unknown as { relay?: SharedWorker };
    if (kind === 'raw' && !g.relay) {
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
      } else {
        g.relay!.port.postMessage({ kind: 'relay', tables: ['notes'] });
      }
      samples.push((await seen) - t0);
      await written;
    }
    ack.close();
    samples.sort((a, b) => a - b);
    return samples[samples.length >> 1]!;
  }, kind, WRITES_PER_ROUND, round);
}

export async function benchChangeLatency(session: BrowserSession): Promise<string> {
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
    for (let round = 0; round < ROUNDS; round++) {
      battery.push(await roundInA(a, 'battery', round));
      raw.push(await roundInA(a, 'raw', round));
    }
    detail('write-to-change', { battery, raw });
    return ratioLine(
      'write-to-change',
      ['battery write in A -> change in B', median(battery.slice(1))],
      ['raw A -> SharedWorker -> B relay', median(raw.slice(1))],
      'ms',
      3,
    );
  } finally {
    await user.close();
  }
}
