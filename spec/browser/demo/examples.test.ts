import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { useDemoSession, waitForSelector } from './demo-session.js';

// Each integration under examples/ loads in Chromium and answers a query.
type ExecWindow = { exec(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };

const viteApp = fileURLToPath(new URL('../../../examples/vite-app/', import.meta.url));
const viteOut = mkdtempSync(join(tmpdir(), 'rtc-battery-vite-example-'));
const reactApp = fileURLToPath(new URL('../../../examples/react-app/', import.meta.url));
const reactOut = mkdtempSync(join(tmpdir(), 'rtc-battery-react-example-'));

async function waitForBodyReady(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body?.dataset.ready === 'true', { polling: 50, timeout: 0 });
}

describe('examples/', () => {
  const session = useDemoSession({ '/vite/': viteOut, '/react/': reactOut });
  afterAll(() => {
    rmSync(viteOut, { recursive: true, force: true });
    rmSync(reactOut, { recursive: true, force: true });
  });

  it('plain-html: the module imported from /dist/ opens the database; a reload counts a second visit', async () => {
    const user = await session().newUser('plain');
    const page = await user.open(`${session().servers.siteUrl}plain-html/`);
    await page.waitForFunction(() => document.getElementById('visits')?.textContent === '1', { polling: 50, timeout: 0 });
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('visits')?.textContent === '2', { polling: 50, timeout: 0 });
    const rows = await page.evaluate(async () => (await (window as unknown as { db: ExecWindow }).db.exec('SELECT count(*) AS n FROM visits')).rows);
    expect(rows).toEqual([{ n: 2 }]);
  });

  it('notes-app: a todo added through the form shows up (watch) for both users of the room, and toggles', async () => {
    const { servers } = session();
    const url = `${servers.siteUrl}notes-app/#example-room-${Date.now()}`;
    const ann = await (await session().newUser('ann')).open(url, 'ann');
    const ben = await (await session().newUser('ben')).open(url, 'ben');
    await Promise.all([waitForBodyReady(ann), waitForBodyReady(ben)]);
    await ann.waitForFunction(() => document.getElementById('status')?.textContent === '1 peer connected', { polling: 50, timeout: 0 });
    await ann.type('#title', 'buy milk');
    await ann.keyboard.press('Enter');
    await waitForSelector(ann, '#todos li[data-id]');
    expect(await ann.$eval('#todos li label', (e) => e.textContent)).toBe('buy milk');
    await ben.waitForFunction(() => document.querySelector('#todos li label')?.textContent === 'buy milk', { polling: 50, timeout: 0 });
    await ben.click('#todos li input[type="checkbox"]');
    await ann.waitForFunction(() => document.querySelector('#todos li')?.classList.contains('done'), { polling: 50, timeout: 0 });
    const rows = await ann.evaluate(async () => (await (window as unknown as { ledger: ExecWindow }).ledger.exec('SELECT title, done FROM todos')).rows);
    expect(rows).toEqual([{ title: 'buy milk', done: 1 }]);
    expect(await ann.$eval('#left', (e) => e.textContent)).toBe('0 of 1 left');
  });

  it('vite-app: built with Vite\'s JS API, the app loads its worker and wasm from the build and runs a query', async () => {
    await build({
      root: viteApp,
      configFile: join(viteApp, 'vite.config.js'),
      base: '/vite/',
      logLevel: 'warn',
      build: { outDir: viteOut, emptyOutDir: true },
    });
    const user = await session().newUser('vite');
    const page = await user.open(`${session().servers.siteUrl}vite/`);
    await waitForBodyReady(page);
    expect(await page.$eval('#version', (e) => e.textContent)).toMatch(/^3\.\d+\.\d+$/);
    expect(await page.$eval('#count', (e) => e.textContent)).toBe('1');
    const rows = await page.evaluate(async () => (await (window as unknown as { db: ExecWindow }).db.exec("SELECT kind FROM events")).rows);
    expect(rows).toEqual([{ kind: 'page-load' }]);
    // The worker runs from the build's hashed asset, not from /dist/.
    const workers = (await user.sharedWorkerUrls()).map((u) => new URL(u).pathname);
    expect(workers).toEqual([expect.stringMatching(/^\/vite\/assets\/battery-worker-[\w-]+\.js$/)]);
  });

  it('react-app: built with Vite; useQuery shows a note added through Kysely in another browser of the room, and a toggle comes back', async () => {
    await build({
      root: reactApp,
      configFile: join(reactApp, 'vite.config.js'),
      base: '/react/',
      logLevel: 'warn',
      build: { outDir: reactOut, emptyOutDir: true },
    });
    const url = `${session().servers.siteUrl}react/#react-room-${Date.now()}`;
    const ann = await (await session().newUser('ann')).open(url, 'ann');
    const ben = await (await session().newUser('ben')).open(url, 'ben');
    for (const page of [ann, ben]) {
      await page.waitForFunction(() => document.getElementById('status')?.textContent === '1 peer connected · signaling connected', { polling: 50, timeout: 0 });
    }
    await ann.type('#body', 'from react');
    await ann.keyboard.press('Enter');
    await ann.waitForFunction(() => document.querySelector('#notes li label')?.textContent?.trim() === 'from react', { polling: 50, timeout: 0 });
    await ben.waitForFunction(() => document.querySelector('#notes li label')?.textContent?.trim() === 'from react', { polling: 50, timeout: 0 });
    await ben.click('#notes li input[type="checkbox"]');
    await ann.waitForFunction(() => document.querySelector('#notes li')?.classList.contains('done'), { polling: 50, timeout: 0 });
    // The filter is a param of useQuery: a new value switches the live query.
    await ann.type('#filter', 'zzz');
    await ann.waitForFunction(() => document.querySelectorAll('#notes li').length === 0, { polling: 50, timeout: 0 });
    const rows = await ann.evaluate(async () => (await (window as unknown as { battery: ExecWindow }).battery.exec('SELECT body, done FROM notes')).rows);
    expect(rows).toEqual([{ body: 'from react', done: 1 }]);
  });
});
