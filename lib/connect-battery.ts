/**
 * connectBattery(): joins this tab to the replica of `dbName`. In 'shared' mode (the default
 * where SharedWorker exists) every tab of the origin talks to one SharedWorker; in 'dedicated'
 * mode the leader tab hosts the replica in a module Worker and relays the other tabs to it
 * (dedicated-host.ts). Either way the tab first takes its liveness lock (tab-lock.ts), so the
 * worker can never see a tab whose death it would miss, then says hello, then queues for
 * leadership.
 */
import { BatteryError } from '../shared-worker/protocol/errors.js';
import type { Battery } from './battery.js';
import { resolveOptions, type BatteryOptions } from './battery-options.js';
import { connectDedicated } from './dedicated-host.js';
import { createBrowserLeaderRelay } from './mesh/browser-leader-relay.js';
import { connectShared } from './shared-connection.js';
import type { TabContext } from './tab-context.js';
import { holdTabLock, locksOf } from '../shared-worker/protocol/tab-lock.js';
import { PROTOCOL_VERSION, type HelloMessage } from '../shared-worker/protocol/worker-protocol.js';

let persistenceRequested = false;

/** Asks once per page for persistent storage, so the browser does not evict the replica under pressure. */
function requestPersistence(): void {
  if (persistenceRequested) return;
  persistenceRequested = true;
  const storage = (globalThis as { navigator?: { storage?: { persist?: () => Promise<boolean> } } }).navigator?.storage;
  storage?.persist?.().catch(() => {
    /* refusals are normal (Chrome decides by engagement); nothing to do */
  });
}

function newTabId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function connectBattery(options?: BatteryOptions): Promise<Battery> {
  const o = resolveOptions(options, {
    workerUrl: () => new URL('./battery-worker.js', import.meta.url).href,
    wasmUrl: () => new URL('./sql-wasm.wasm', import.meta.url).href,
  });
  const hasShared = typeof SharedWorker === 'function';
  const mode = o.mode === 'auto' ? (hasShared ? 'shared' : 'dedicated') : o.mode;
  if (mode === 'shared' && !hasShared) {
    throw new BatteryError('WORKER', "this browser has no SharedWorker; use mode 'auto' or 'dedicated'");
  }
  requestPersistence();
  const tabId = newTabId();
  const locks = locksOf(globalThis);
  const releaseTabLock = locks ? await holdTabLock(locks, tabId) : () => {};
  const hello: HelloMessage = {
    kind: 'hello', v: PROTOCOL_VERSION, tabId, dbName: o.dbName, wasmUrl: o.wasmUrl, durability: o.durability,
    ...(o.maxClockDriftMs !== undefined ? { maxClockDriftMs: o.maxClockDriftMs } : {}),
    ...(o.diagnostics !== undefined ? { debug: true } : {}),
  };
  const ctx: TabContext = {
    options: o, tabId, hello, releaseTabLock,
    meshDriver: o.meshDriver ?? createBrowserLeaderRelay,
  };
  const battery = mode === 'shared' ? await connectShared(ctx) : await connectDedicated(ctx);
  if (o.migrations) {
    try {
      await battery.migrate(o.migrations);
    } catch (e) {
      // An app older than its replica, or a failed step: this handle must not be used.
      await battery.close();
      throw e;
    }
  }
  closeOnPageHide(battery);
  return battery;
}

/** A closing page says goodbye at once, so leadership and its watches move without waiting for lock cleanup. */
function closeOnPageHide(battery: Battery): void {
  const target = globalThis as { addEventListener?: (t: string, l: (e: Event) => void) => void };
  target.addEventListener?.('pagehide', (e) => {
    if (!(e as PageTransitionEvent).persisted) void battery.close();
  });
}
