/**
 * connectBattery(): joins this tab to the replica of `dbName`. In 'shared' mode (the default
 * where SharedWorker exists) every tab of the origin talks to one SharedWorker; in 'dedicated'
 * mode the leader tab hosts the replica in a module Worker and relays the other tabs to it
 * (dedicated-host.ts). Either way the tab first takes its liveness lock (tab-lock.ts), so the
 * worker can never see a tab whose death it would miss, then says hello, then queues for
 * leadership.
 */
import { BatteryError, isBatteryError } from '../shared-worker/errors.js';
import { Battery } from './battery.js';
import { resolveOptions, type BatteryOptions, type ResolvedOptions } from './battery-options.js';
import { connectDedicated } from './dedicated-host.js';
import { standForLeader, type Candidacy } from './leader-election.js';
import { createBrowserLeaderRelay } from './mesh/browser-leader-relay.js';
import type { MeshDriverFactory } from './mesh-driver.js';
import { messagePortWire } from './port-adapters.js';
import { holdTabLock, locksOf, whenLockFree } from './tab-lock.js';
import { PROTOCOL_VERSION, type HelloMessage, type WirePort } from './worker-protocol.js';

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

export function toBatteryError(e: unknown, code: 'WORKER' = 'WORKER'): BatteryError {
  return isBatteryError(e) ? (e as BatteryError) : new BatteryError(code, e instanceof Error ? e.message : String(e));
}

export interface TabContext {
  options: ResolvedOptions;
  tabId: string;
  hello: HelloMessage;
  meshDriver: MeshDriverFactory;
  releaseTabLock: () => void;
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
  };
  const ctx: TabContext = {
    options: o, tabId, hello, releaseTabLock,
    meshDriver: o.meshDriver ?? createBrowserLeaderRelay,
  };
  const battery = mode === 'shared' ? await connectShared(ctx) : await connectDedicated(ctx);
  closeOnPageHide(battery);
  return battery;
}

/**
 * How often a tab re-creates a SharedWorker that died under it (e.g. it shared a renderer
 * process with a tab that crashed), before giving up and reporting 'WORKER'. Attempt n waits
 * 100·2^n ms: a worker that dies at start-up (bad script) is not retried in a tight loop.
 */
const MAX_WORKER_RESTARTS = 5;

async function connectShared(ctx: TabContext): Promise<Battery> {
  const { options: o } = ctx;
  const locks = locksOf(globalThis);
  let candidacy: Candidacy | null = null;
  const battery = newBattery(ctx, () => {
    candidacy?.resign();
    stopWatchingWorker();
    ctx.releaseTabLock();
  });
  let restarts = 0;
  let currentPort: WirePort | null = null;
  let stopWatchingWorker = () => {};

  const openPort = (): WirePort => {
    let worker: SharedWorker;
    try {
      worker = new SharedWorker(o.workerUrl, { type: 'module', name: `rtc-battery:${o.dbName}` });
    } catch (e) {
      throw new BatteryError('WORKER', `could not start the worker at ${o.workerUrl}: ${toBatteryError(e).message}`);
    }
    // A SharedWorker reports a script that fails to load or parse only through `error` on this
    // object; a worker that dies later closes the port (MessagePort `close`, Chrome >= 122) and
    // releases its worker lock (see connectTo).
    const port = messagePortWire(worker.port, [(fire) => worker.addEventListener('error', fire)]);
    port.onClose(() => restart(port));
    currentPort = port;
    return port;
  };

  const connectTo = async (port: WirePort) => {
    const welcome = await battery.attach(port);
    stopWatchingWorker();
    if (welcome?.workerLock && locks) {
      // Granted only when the worker is gone. Observed in Chromium 156: a SharedWorker killed with
      // the renderer of a crashed tab left the other tabs' ports open and silent.
      stopWatchingWorker = whenLockFree(locks, welcome.workerLock, () => restart(port));
    }
  };

  const restart = (port: WirePort) => {
    if (battery.isClosed || port !== currentPort) return;
    currentPort = null;
    stopWatchingWorker();
    battery.detach('the worker stopped (it crashed or was killed); reconnecting');
    if (restarts >= MAX_WORKER_RESTARTS) {
      battery.reportError(new BatteryError('WORKER', `the worker stopped ${restarts} times in a row; giving up`));
      return;
    }
    const delay = 100 * 2 ** restarts++;
    setTimeout(() => {
      if (battery.isClosed) return;
      let next: WirePort;
      try {
        next = openPort();
      } catch (e) {
        battery.reportError(toBatteryError(e));
        return;
      }
      connectTo(next).then(
        () => {
          restarts = 0;
        },
        (e) => battery.reportError(toBatteryError(e)),
      );
    }, delay);
  };

  try {
    // The first worker failing is connectBattery's failure, not a restart.
    restarts = MAX_WORKER_RESTARTS;
    await connectTo(openPort());
    restarts = 0;
  } catch (e) {
    await battery.close();
    throw toBatteryError(e);
  }
  candidacy = standForLeader(locks, o.dbName, () => {
    battery.becomeLeader().catch((e) => battery.reportError(toBatteryError(e)));
  });
  return battery;
}

export function newBattery(ctx: TabContext, onClose: () => void | Promise<void>): Battery {
  const o = ctx.options;
  return new Battery({
    hello: ctx.hello,
    requestTimeoutMs: o.requestTimeoutMs,
    meshDriver: ctx.meshDriver,
    onClose,
    ...(o.signalingUrl !== undefined ? { signalingUrl: o.signalingUrl } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.iceServers !== undefined ? { iceServers: o.iceServers } : {}),
  });
}

/** A closing page says goodbye at once, so leadership and its watches move without waiting for lock cleanup. */
function closeOnPageHide(battery: Battery): void {
  const target = globalThis as { addEventListener?: (t: string, l: (e: Event) => void) => void };
  target.addEventListener?.('pagehide', (e) => {
    if (!(e as PageTransitionEvent).persisted) void battery.close();
  });
}
