import type { Page } from 'puppeteer-core';
import type { BrowserSession } from '../../spec/browser/harness/browser-session.js';
import { exec, openBatteryTab } from '../../spec/browser/harness/battery-tab.js';
import '../../spec/browser/harness/page-globals.js';
import { detail, median, ratioLine } from './stats.js';

// A one-row INSERT through Battery.exec, awaited until acknowledged (it is in IndexedDB), against
// the least any acknowledged write through a SharedWorker costs: a request-shaped message to a
// worker that commits one small IndexedDB put, then answers.
const OPS_PER_ROUND = 100;
const ROUNDS = 7; // the first of each kind is a warm-up and dropped

function batteryRound(page: Page, round: number): Promise<number> {
  return page.evaluate(async (n, round) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await window.db!.exec('INSERT INTO kv VALUES (?, ?)', [`r${round}-${i}`, 'value of a row']);
    return (performance.now() - t0) / n;
  }, OPS_PER_ROUND, round);
}

function rawRound(page: Page, round: number): Promise<number> {
  return page.evaluate(async (n, round) => {
    const w = new SharedWorker('/bench/echo-worker.js', { name: 'bench-echo' });
    w.port.start();
    let resolve: (v: unknown) => void = () => {};
    w.port.onmessage = (e) => resolve(e.data);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const reply = new Promise((r) => (resolve = r));
      w.port.postMessage({ kind: 'durable-echo', id: `r${round}-${i}`, req: { op: 'exec', sql: 'INSERT INTO kv VALUES (?, ?)', params: [`r${round}-${i}`, 'value of a row'] } });
      await reply;
    }
    const perOp = (performance.now() - t0) / n;
    w.port.postMessage({ kind: 'bye' });
    w.port.close();
    return perOp;
  }, OPS_PER_ROUND, round);
}

export async function benchWriteAck(session: BrowserSession): Promise<string> {
  const user = await session.newUser('bench-write');
  try {
    const page = await openBatteryTab(user, { dbName: 'bench-write' });
    await exec(page, 'CREATE TABLE kv (id TEXT PRIMARY KEY NOT NULL, v TEXT)');
    await page.evaluate(() => window.db!.enableSync('kv'));
    const battery: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      battery.push(await batteryRound(page, round));
      raw.push(await rawRound(page, round));
    }
    detail('write-ack', { battery, raw });
    return ratioLine('write-ack (one-row insert acknowledged)', ['battery exec', median(battery.slice(1))], ['raw SharedWorker echo + IndexedDB put', median(raw.slice(1))], 'ms/op', 1.5);
  } finally {
    await user.close();
  }
}
