/**
 * One browser (the one under test; the run's shared Firefox when there is one) and the servers of `npm start` (examples/start/demo-servers.mjs: the PeerServer,
 * the static site with /config.json) on port 0, per test file, serving a snapshot of dist/. Users are browser contexts. The
 * browser's console is printed for a failed test, as the harness's useBrowserSession does.
 */
import { mkdirSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'puppeteer-core';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { ConsoleLog } from '../harness/console-log.js';
import { browserUnderTest, type BrowserName } from '../harness/browser-name.js';
import { connectBrowser, launchBrowser, type LaunchedBrowser } from '../harness/launch-browser.js';
import { sharedWorkerCensus } from '../harness/shared-workers.js';
import { sharedBrowserEndpoint } from '../harness/vitest-session.js';
import { startDemoServers, type DemoServers } from '../../../examples/start/demo-servers.mjs';

export const OUTPUT_DIR = fileURLToPath(new URL('../../../.test-output/', import.meta.url));
const DIST = fileURLToPath(new URL('../../../dist/', import.meta.url));

export interface DemoSession {
  servers: DemoServers;
  browserName: BrowserName;
  log: ConsoleLog;
  /** A fresh browser profile (its own IndexedDB and SharedWorkers). */
  newUser(name: string): Promise<DemoUser>;
}

interface DemoUser {
  context: BrowserContext;
  open(url: string, label?: string): Promise<Page>;
  /** Script URLs of this user's running SharedWorkers. */
  sharedWorkerUrls(): Promise<string[]>;
}

export function useDemoSession(extraMounts?: Record<string, string>): () => DemoSession {
  let launched: LaunchedBrowser | undefined;
  let servers: DemoServers | undefined;
  let session: DemoSession | undefined;
  let snapshot: string | undefined;
  const contexts: BrowserContext[] = [];
  const log = new ConsoleLog();

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    // Pages get a copy of dist/ taken now, as in the harness: others rebuild it while suites run.
    snapshot = await mkdtemp(join(tmpdir(), 'rtc-battery-demo-dist-'));
    await cp(DIST, snapshot, { recursive: true });
    servers = await startDemoServers({ port: 0, signalingPort: 0, extraMounts: { ...extraMounts, '/dist/': snapshot } });
    const browserName = browserUnderTest();
    const endpoint = sharedBrowserEndpoint(browserName);
    launched = endpoint ? await connectBrowser(endpoint, browserName) : await launchBrowser({ browser: browserName });
    log.attach(launched.browser);
    const browser = launched.browser;
    const s = servers;
    session = {
      servers: s,
      browserName,
      log,
      async newUser(name) {
        const context = await browser.createBrowserContext();
        contexts.push(context);
        let tabs = 0;
        const census = sharedWorkerCensus(browser, context);
        return {
          context,
          async open(url, label = `${name}/tab${++tabs}`) {
            const page = await context.newPage();
            log.label(page, label);
            // The demo's pages are the site's own: a user's workers are those under its pages' directories.
            census.noteDirectory(new URL('./', url).href);
            await page.goto(url, { waitUntil: 'load' });
            return page;
          },
          sharedWorkerUrls: () => census.urls(),
        };
      },
    };
  });
  afterAll(async () => {
    // The run's shared browser outlives this file: its users (workers, timers, links to the
    // servers closed below) must not go on using CPU under the next files.
    for (const context of contexts.splice(0)) await context.close().catch(() => {});
    await launched?.close();
    await servers?.close();
    if (snapshot) await rm(snapshot, { recursive: true, force: true });
  });
  beforeEach((ctx) => {
    log.clear();
    ctx.onTestFailed(() => {
      console.log(`--- browser console for "${ctx.task.name}" ---\n${log.dump()}`);
    });
  });
  return () => {
    if (!session) throw new Error('useDemoSession(): not started (used outside a test?)');
    return session;
  };
}

/** Waits (no time limit of its own) for the page's `document.body.dataset.ready`; throws if it says 'failed'. */
export async function waitForReady(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body?.dataset.ready, { polling: 50, timeout: 0 });
  const state = await page.evaluate(() => document.body.dataset.ready);
  if (state !== 'true') {
    const log = await page.evaluate(() => document.getElementById('sync-log')?.textContent ?? '');
    throw new Error(`page ${page.url()} failed to start: ${log}`);
  }
}

/**
 * Waits until `selector` matches. waitForSelector polls with requestAnimationFrame/mutations,
 * which background tabs may not deliver; an interval poll works in any tab.
 */
export async function waitForSelector(page: Page, selector: string): Promise<void> {
  await page.waitForFunction((s) => document.querySelector(s) !== null, { polling: 50, timeout: 0 }, selector);
}
