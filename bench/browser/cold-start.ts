import type { Page } from 'puppeteer-core';
import type { BrowserSession, User } from '../../spec/browser/harness/browser-session.js';
import { exec, openBatteryTab, rows, waitForLibrary, waitUntil } from '../../spec/browser/harness/battery-tab.js';
import '../../spec/browser/harness/page-globals.js';
import { detail, median, ratioLine } from './stats.js';

// Where a battery cold start of this database went (worker console timings, 2-core box at load
// ~14): worker script start 60-300 ms after the tab's connectBattery, IndexedDB reads of snapshot
// + log 380-590 ms (the raw baseline reads as many bytes), the snapshot into sql.js 75-230 ms
// (copied into its in-memory file), replaying the one ~2 MB log entry (2,000 rows of 1 KiB) the
// fill leaves behind 390-800 ms (a merge per row: the rows are new to the snapshot), welcome +
// first query ~10 ms; compiling the wasm overlaps the reads. Even without a log tail, (start +
// read + copy) / read is ~1.4-1.6: the 1.3 goal is out of reach while the database must be read,
// then copied into sql.js.
const TARGET_BYTES = 50 * 1024 * 1024;
const ROW_BYTES = 1024;
const ROWS_PER_EXEC = 5 * 1024; // 5 MiB of blobs per exec call
const ROUNDS = 5;
const OPTIONS = { dbName: 'bench-cold' };

/** A tab with the library loaded but nothing connected: the clock starts after page load. */
async function freshTab(user: User): Promise<Page> {
  const page = await user.openTab('/tab.html', `${user.name}/cold`);
  await waitForLibrary(page);
  return page;
}

/** Closes the tab and waits until its SharedWorker is gone, so the next start is a cold one. */
async function closeCold(user: User, page: Page): Promise<void> {
  await page.close();
  await waitUntil(async () => (await user.sharedWorkerCount()) === 0);
}

async function fillDatabase(user: User): Promise<number> {
  const page = await openBatteryTab(user, OPTIONS);
  await exec(page, 'CREATE TABLE big (id INTEGER PRIMARY KEY NOT NULL, b BLOB)');
  await page.evaluate(() => window.db!.enableSync('big'));
  const fileSize = async () =>
    Number((await rows(page, 'SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()'))[0]!.bytes);
  // Grow until the database file (data + the library's own tables and indexes) reaches the target.
  for (let first = 1; (await fileSize()) < TARGET_BYTES; first += ROWS_PER_EXEC) {
    const rowsNow = Math.min(ROWS_PER_EXEC, Math.ceil((TARGET_BYTES - (await fileSize())) / (ROW_BYTES * 1.2)) + 16);
    await exec(page, `WITH RECURSIVE c(i) AS (SELECT ${first} UNION ALL SELECT i + 1 FROM c WHERE i < ${first + rowsNow - 1})
      INSERT INTO big SELECT i, randomblob(${ROW_BYTES}) FROM c`);
  }
  const bytes = await fileSize();
  await closeCold(user, page);
  return bytes;
}

async function batteryColdStart(user: User): Promise<number> {
  const page = await freshTab(user);
  const ms = await page.evaluate(async (options) => {
    const t0 = performance.now();
    const db = await window.rtcBattery!.connectBattery(options);
    const result = await db.exec('SELECT count(*) AS n FROM big WHERE id = 1');
    const elapsed = performance.now() - t0;
    if (result.rows[0]!.n !== 1) throw new Error('the database came back without its rows');
    await db.close();
    return elapsed;
  }, OPTIONS);
  await closeCold(user, page);
  return ms;
}

/** The same number of bytes as one IndexedDB value, written once and read back by fresh tabs. */
async function writeRawBytes(user: User, bytes: number): Promise<void> {
  const page = await freshTab(user);
  await page.evaluate(async (bytes) => {
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(bytes, i + 65536)));
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('bench-raw', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('kv');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('kv', 'readwrite');
      tx.objectStore('kv').put(data, 'blob');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, bytes);
  await closeCold(user, page);
}

async function rawIdbRead(user: User, bytes: number): Promise<number> {
  const page = await freshTab(user);
  const ms = await page.evaluate(async (bytes) => {
    const t0 = performance.now();
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('bench-raw', 1);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const value = await new Promise<Uint8Array>((resolve, reject) => {
      const req = db.transaction('kv').objectStore('kv').get('blob');
      req.onsuccess = () => resolve(req.result as Uint8Array);
      req.onerror = () => reject(req.error);
    });
    const elapsed = performance.now() - t0;
    if (value.byteLength !== bytes) throw new Error(`read ${value.byteLength} bytes, expected ${bytes}`);
    db.close();
    return elapsed;
  }, bytes);
  await closeCold(user, page);
  return ms;
}

export async function benchColdStart(session: BrowserSession): Promise<string> {
  const user = await session.newUser('bench-cold');
  try {
    const bytes = await fillDatabase(user);
    await writeRawBytes(user, bytes);
    const battery: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      battery.push(await batteryColdStart(user));
      raw.push(await rawIdbRead(user, bytes));
    }
    detail('cold-start', { battery, raw });
    return ratioLine(
      `cold-start-${(bytes / 1048576).toFixed(0)}MB`,
      ['battery open + first query', median(battery)],
      ['raw IndexedDB read of as many bytes', median(raw)],
      'ms',
      1.3,
    );
  } finally {
    await user.close();
  }
}
