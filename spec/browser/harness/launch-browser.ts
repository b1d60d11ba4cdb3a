import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type LaunchOptions } from 'puppeteer-core';
import { browserUnderTest, type BrowserName } from './browser-name.js';
import { findBrowser } from './find-browser.js';

// README "Browsers and how they are tested": no QUIC/background traffic, and real IPs instead of mDNS
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

/**
 * The same intents for Firefox, as preferences (puppeteer writes them to the profile's user.js).
 * Only one tab of a window is in front; the others are background tabs, whose timers Firefox
 * clamps to 1 s and then budget-throttles: several tests drive background tabs.
 */
const FIREFOX_PREFS: Record<string, unknown> = {
  // ICE host candidates with the real address instead of an mDNS name (the Chromium flag above).
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'dom.min_background_timeout_value': 4,
  'dom.min_background_timeout_value_without_budget_throttling': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  'dom.timeout.background_throttling_max_budget': -1,
  // No traffic of its own: updates, telemetry, captive-portal and connectivity probes.
  'app.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'extensions.update.enabled': false,
  'network.http.http3.enable': false,
  // navigator.clipboard.readText without the paste prompt (the demo's Copy button test); BiDi
  // has no clipboard permission to grant instead.
  'dom.events.testing.asyncClipboard': true,
};

export interface LaunchedBrowser {
  browser: Browser;
  readonly name: BrowserName;
  /**
   * Ends this connection but leaves the browser running, for another process to connect to
   * (`connectBrowser`); close() then stops the process. Firefox takes one WebDriver BiDi
   * session at a time, so the launcher must let go of its own first.
   */
  detach(): Promise<string>;
  /** Closes the browser (or, when connected with connectBrowser, this connection only) and removes its profile directory; safe to call twice. */
  close(): Promise<void>;
}

export interface LaunchBrowserOptions {
  /** Default: the browser under test (BATTERY_BROWSER, see browser-name.ts). */
  browser?: BrowserName;
  /** Extra command-line arguments (Chromium flags, or Firefox arguments). */
  extraArgs?: string[];
}

/** Starts the headless browser with a fresh, throw-away profile directory. */
export async function launchBrowser(options: LaunchBrowserOptions = {}): Promise<LaunchedBrowser> {
  const name = options.browser ?? browserUnderTest();
  const extraArgs = options.extraArgs ?? [];
  const userDataDir = await mkdtemp(join(tmpdir(), `rtc-battery-${name}-`));
  const launchOptions: LaunchOptions =
    name === 'firefox'
      ? {
          browser: 'firefox',
          executablePath: findBrowser('firefox'),
          headless: true,
          userDataDir,
          extraPrefsFirefox: FIREFOX_PREFS,
          args: extraArgs,
        }
      : {
          browser: 'chrome',
          executablePath: findBrowser('chromium'),
          headless: true,
          args: [...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, ...extraArgs],
          // puppeteer adds --headless itself; ours (=new) is listed first and wins.
        };
  let browser: Browser;
  try {
    browser = await puppeteer.launch(launchOptions);
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  let detached = false;
  return {
    browser,
    name,
    async detach() {
      const endpoint = browser.wsEndpoint();
      detached = true;
      await browser.disconnect();
      return endpoint;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (detached) await stopProcess(browser);
      else {
        try {
          await browser.close();
        } catch {
          browser.process()?.kill('SIGKILL');
        }
      }
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/** Connects to a browser another process launched and detached (see LaunchedBrowser.detach). */
export async function connectBrowser(endpoint: string, name: BrowserName): Promise<LaunchedBrowser> {
  const browser = await puppeteer.connect({ browserWSEndpoint: endpoint, protocol: name === 'firefox' ? 'webDriverBiDi' : 'cdp' });
  let closed = false;
  return {
    browser,
    name,
    async detach() {
      throw new Error('connectBrowser: this connection does not own the browser');
    },
    async close() {
      if (closed) return;
      closed = true;
      await browser.disconnect().catch(() => {});
    },
  };
}

/** SIGTERM (the browser shuts down cleanly), then SIGKILL if it is still there after 10 s. */
async function stopProcess(browser: Browser): Promise<void> {
  const child = browser.process();
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
