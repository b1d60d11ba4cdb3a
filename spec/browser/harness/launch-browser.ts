import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { findChromium } from './find-chromium.js';

// README "Browser tests": no QUIC/background traffic, and real IPs instead of mDNS
// names in ICE candidates (mDNS would send multicast off the machine; in the private netns the
// veth address 198.51.100.1 is the only candidate).
const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Background tabs must keep running their timers and message handlers at full speed: several
  // tests drive tabs that are not in front.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export interface LaunchedBrowser {
  browser: Browser;
  /** Closes Chromium and removes its profile directory; safe to call twice. */
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh, throw-away --user-data-dir. */
export async function launchBrowser(extraArgs: string[] = []): Promise<LaunchedBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'rtc-battery-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: findChromium(),
      headless: true,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, ...extraArgs],
      // puppeteer adds --headless itself; ours (=new) is listed first and wins.
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  return {
    browser,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await browser.close();
      } catch {
        browser.process()?.kill('SIGKILL');
      }
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
