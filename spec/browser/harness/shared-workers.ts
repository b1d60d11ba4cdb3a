/**
 * The SharedWorkers running for one user (browser context), on either browser. Tests wait for
 * them to be gone before reopening a database, so the new tab starts the replica from IndexedDB.
 *
 * Chromium (CDP): each SharedWorker is a `shared_worker` target of its browser context.
 * Firefox (WebDriver BiDi): puppeteer has no worker targets, and a shared-worker realm does not
 * say which user context it belongs to; but a worker shares its user's storage, so each user
 * leaves a marker in its CacheStorage from its first tab, and a realm that sees the marker is
 * that user's.
 */
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { bidiConnection, evaluateInRealm, isBidi, sharedWorkerRealms } from './bidi-realms.js';

export interface SharedWorkerCensus {
  /** Called for every tab the user opens, once it has loaded. */
  markTab(page: Page): Promise<void>;
  /** Script URLs of the user's running SharedWorkers. */
  urls(): Promise<string[]>;
}

let nextMarker = 1;

export function sharedWorkerCensus(browser: Browser, context: BrowserContext): SharedWorkerCensus {
  if (!isBidi(browser)) {
    return {
      async markTab() {},
      async urls() {
        return context.targets().filter((t) => t.type() === 'shared_worker').map((t) => t.url());
      },
    };
  }
  const connection = bidiConnection(browser);
  const marker = `rtc-battery-test-user-${process.pid}-${nextMarker++}`;
  let marked = false;
  return {
    async markTab(page) {
      if (marked) return;
      // Only pages at an http(s) origin have CacheStorage (about:blank has none).
      if (!/^https?:/.test(page.url())) return;
      await page.evaluate(async (name) => {
        await caches.open(name);
      }, marker);
      marked = true;
    },
    async urls() {
      if (!marked) return [];
      const realms = await sharedWorkerRealms(connection);
      const mine = await Promise.all(
        realms.map(async (r) => (await evaluateInRealm(connection, r.realm, `caches.has(${JSON.stringify(marker)})`)) === true),
      );
      return realms.filter((_, i) => mine[i]).map((r) => r.origin);
    },
  };
}
