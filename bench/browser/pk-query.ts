import type { Page } from 'puppeteer-core';
import type { BrowserSession } from '../../spec/browser/harness/browser-session.js';
import { exec, openBatteryTab } from '../../spec/browser/harness/battery-tab.js';
import '../../spec/browser/harness/page-globals.js';
import { detail, median, ratioLine } from './stats.js';

const ROWS = 10_000;
const OPS_PER_ROUND = 500;
const ROUNDS = 7; // the first of each kind is a warm-up and dropped

/** ms per primary-key SELECT from a tab through connectBattery's worker. */
function batteryRound(page: Page): Promise<number> {
  return page.evaluate(async (n, rows) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await window.db!.exec('SELECT v FROM kv WHERE id = ?', [1 + ((i * 7919) % rows)]);
    return (performance.now() - t0) / n;
  }, OPS_PER_ROUND, ROWS);
}

/** ms per round trip of a request-shaped message to a SharedWorker that only echoes. */
function rawRound(page: Page): Promise<number> {
  return page.evaluate(async (n, rows) => {
    const w = new SharedWorker('/bench/echo-worker.js', { name: 'bench-echo' });
    w.port.start();
    let resolve: (v: unknown) => void = () => {};
    w.port.onmessage = (e) => resolve(e.data);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const reply = new Promise((r) => (resolve = r));
      w.port.postMessage({ kind: 'echo', id: i, req: { op: 'exec', sql: 'SELECT v FROM kv WHERE id = ?', params: [1 + ((i * 7919) % rows)] }, reply: '0123456789abcdef0123456789abcdef' });
      await reply;
    }
    const perOp = (performance.now() - t0) / n;
    w.port.postMessage({ kind: 'bye' });
    w.port.close();
    return perOp;
  }, OPS_PER_ROUND, ROWS);
}

export async function benchPkQuery(session: BrowserSession): Promise<string> {
  const user = await session.newUser('bench-pk');
  try {
    const page = await openBatteryTab(user, { dbName: 'bench-pk' });
    await exec(page, 'CREATE TABLE kv (id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    await page.evaluate(() => window.db!.enableSync('kv'));
    await exec(page, `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${ROWS})
      INSERT INTO kv SELECT i, hex(randomblob(16)) FROM c`);
    const battery: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      battery.push(await batteryRound(page));
      raw.push(await rawRound(page));
    }
    detail('pk-query', { battery, raw });
    return ratioLine(
      'pk-query',
      ['battery exec', median(battery.slice(1))],
      ['raw SharedWorker echo', median(raw.slice(1))],
      'ms/op',
      1.5,
    );
  } finally {
    await user.close();
  }
}
