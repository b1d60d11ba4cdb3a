import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { ConsoleLog } from './console-log.js';
import { browserUnderTest, type BrowserName } from './browser-name.js';
import { connectBrowser, launchBrowser, type LaunchedBrowser } from './launch-browser.js';
import { isBidi } from './bidi-realms.js';
import { sharedWorkerCensus, USER_PREFIX_SEGMENT } from './shared-workers.js';
import { startStaticServer, type StaticServer } from './static-server.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

/** URL layout every page relies on: the built package under /dist/, test pages at the root. */
const DEFAULT_MOUNTS: Record<string, string> = {
  '/dist/': `${repo}dist`,
  '/bench/': `${repo}bench/browser/pages`,
  '/': `${repo}spec/browser/pages`,
};

/**
 * tsx and vitest compile with esbuild's keepNames, which wraps named functions in `__name(...)`;
 * functions handed to page.evaluate are serialized with those calls but without the helper.
 * Given as a string so it is not itself rewritten.
 */
const KEEP_NAMES_SHIM = 'globalThis.__name = (fn) => fn;';

/** One browser profile = one user: its own IndexedDB, its own SharedWorkers. */
export interface User {
  readonly name: string;
  readonly context: BrowserContext;
  /** Opens a tab of this user at `path` (default the test tab page) and waits for its load event. */
  openTab(path?: string, label?: string): Promise<Page>;
  /** SharedWorkers currently running for this user (they outlive their last tab briefly). */
  sharedWorkerCount(): Promise<number>;
  close(): Promise<void>;
}

export interface BrowserSession {
  readonly browser: Browser;
  /** Which browser runs (BATTERY_BROWSER, see browser-name.ts). */
  readonly browserName: BrowserName;
  readonly origin: string;
  readonly log: ConsoleLog;
  newUser(name?: string): Promise<User>;
  /** `count` users (browser contexts), e.g. the peers of a mesh test. */
  newUsers(count: number): Promise<User[]>;
  /** Closes every user, the browser, the HTTP server; never throws, safe to call twice. */
  close(): Promise<void>;
}

/**
 * The browser under test + a static server on 127.0.0.1 + console capture. Extra services (the PeerServer for
 * the mesh tests) are started next to it by their own modules and passed to pages by URL.
 */
export interface SessionOptions {
  mounts?: Record<string, string>;
  /** Serve with COOP/COEP so pages get 5 µs timers (benchmarks). */
  crossOriginIsolated?: boolean;
  /** Default: the browser under test (BATTERY_BROWSER). */
  browser?: BrowserName;
  /** Connect to this already running browser (of kind `browser`) instead of launching one. */
  endpoint?: string;
}

export async function startBrowserSession(options: SessionOptions = {}): Promise<BrowserSession> {
  // Serve a copy of dist/ taken now: a rebuild in the same tree while the suite runs (a watch
  // build, a second terminal) would otherwise hand a tab a half-written bundle.
  const snapshot = await mkdtemp(join(tmpdir(), 'rtc-battery-dist-'));
  const mounts = { ...(options.mounts ?? DEFAULT_MOUNTS) };
  if (mounts['/dist/']) {
    await cp(mounts['/dist/'], snapshot, { recursive: true }).catch(async (e: unknown) => {
      await rm(snapshot, { recursive: true, force: true });
      throw new Error(`cannot copy ${mounts['/dist/']} (run \`npm run build\` first): ${String(e)}`);
    });
    mounts['/dist/'] = snapshot;
  }
  const removeSnapshot = () => rm(snapshot, { recursive: true, force: true });
  let server: StaticServer;
  let launched: LaunchedBrowser;
  try {
    server = await startStaticServer(mounts, { crossOriginIsolated: options.crossOriginIsolated ?? false, aliasSegment: USER_PREFIX_SEGMENT });
  } catch (e) {
    await removeSnapshot();
    throw e;
  }
  try {
    const name = options.browser ?? browserUnderTest();
    launched = options.endpoint ? await connectBrowser(options.endpoint, name) : await launchBrowser({ browser: name });
  } catch (e) {
    await server.close();
    await removeSnapshot();
    throw e;
  }
  const { browser } = launched;
  const log = new ConsoleLog();
  log.attach(browser);
  const users: User[] = [];
  let userCount = 0;
  let prefixCount = 0;

  const session: BrowserSession = {
    browser,
    browserName: launched.name,
    origin: server.origin,
    log,
    async newUser(name = `user${++userCount}`) {
      const context = await browser.createBrowserContext();
      let tabCount = 0;
      const census = sharedWorkerCensus(browser, context);
      // Firefox: this user's pages (and so its workers) live under /u/<n>/, see shared-workers.ts.
      const base = census.needsUserPrefix ? `${server.origin}/${USER_PREFIX_SEGMENT}/${++prefixCount}` : server.origin;
      census.noteDirectory(`${base}/`);
      const user: User = {
        name,
        context,
        async openTab(path = '/tab.html', label = `${name}/tab${++tabCount}`) {
          const page = await context.newPage();
          log.label(page, label);
          await page.evaluateOnNewDocument(KEEP_NAMES_SHIM);
          await page.goto(base + path, { waitUntil: 'load' });
          return page;
        },
        async sharedWorkerCount() {
          return (await census.urls()).length;
        },
        async close() {
          await context.close().catch(() => {});
        },
      };
      users.push(user);
      return user;
    },
    async newUsers(count) {
      const created: User[] = [];
      for (let i = 0; i < count; i++) created.push(await session.newUser());
      return created;
    },
    async close() {
      for (const user of users) await user.close();
      await launched.close().catch(() => {});
      await server.close().catch(() => {});
      await removeSnapshot().catch(() => {});
    },
  };
  return session;
}

/**
 * Kills the renderer process of `page` the hard way (CDP Page.crash), as a tab killed by the OS
 * or a crash would be. Resolves once puppeteer has seen the crash. Chromium only: WebDriver BiDi
 * (Firefox) has no command that crashes one tab, so suites register their crash cases only where
 * `canCrashTabs` says so.
 */
export async function crashRenderer(page: Page): Promise<void> {
  if (isBidi(page.browser())) throw new Error('crashRenderer: only Chromium (CDP Page.crash) can crash a single tab');
  const crashed = new Promise<void>((resolve) => page.once('error', () => resolve()));
  const session = await page.createCDPSession();
  // The reply never comes: the process that would send it is gone.
  session.send('Page.crash').catch(() => {});
  await crashed;
}

/** Whether crashRenderer works in the browser under test (decided before tests are collected). */
export function canCrashTabs(name: BrowserName = browserUnderTest()): boolean {
  return name === 'chromium';
}
