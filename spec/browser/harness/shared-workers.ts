/**
 * The SharedWorkers running for one user (browser context), on either browser. Tests wait for
 * them to be gone before reopening a database, so the new tab starts the replica from IndexedDB.
 *
 * Chromium (CDP): each SharedWorker is a `shared_worker` target of its browser context.
 * Firefox (WebDriver BiDi): puppeteer has no worker targets; the protocol lists shared-worker
 * realms (`script.getRealms`) with their script URL, but neither says which user context a
 * realm belongs to nor lets one evaluate in it (Firefox 153: "no such frame"). So a user's
 * workers are told apart by URL: the harness serves each Firefox user's pages under its own
 * path prefix (`/u/<n>/tab.html`, which loads `/u/<n>/dist/battery-worker.js`; the static
 * server drops the prefix), and a realm belongs to the user whose page directory its URL lies
 * in. Same origin, so storage, locks and everything else the library sees are unchanged.
 */
import type { Browser, BrowserContext } from 'puppeteer-core';
import { bidiConnection, isBidi, sharedWorkerRealms } from './bidi-realms.js';

/** The path segment under which Firefox users get their own prefix (`/u/<n>/...`). */
export const USER_PREFIX_SEGMENT = 'u';

export interface SharedWorkerCensus {
  /** Whether this browser needs per-user page paths (Firefox) for the census to work. */
  readonly needsUserPrefix: boolean;
  /** A URL directory (ending in '/') under which the user's pages load their scripts. */
  noteDirectory(url: string): void;
  /** Script URLs of the user's running SharedWorkers. */
  urls(): Promise<string[]>;
}

export function sharedWorkerCensus(browser: Browser, context: BrowserContext): SharedWorkerCensus {
  if (!isBidi(browser)) {
    return {
      needsUserPrefix: false,
      noteDirectory() {},
      async urls() {
        return context.targets().filter((t) => t.type() === 'shared_worker').map((t) => t.url());
      },
    };
  }
  const connection = bidiConnection(browser);
  const directories = new Set<string>();
  return {
    needsUserPrefix: true,
    noteDirectory(url) {
      directories.add(url);
    },
    async urls() {
      const realms = await sharedWorkerRealms(connection);
      return realms.map((r) => r.origin).filter((url) => [...directories].some((dir) => url.startsWith(dir)));
    },
  };
}
