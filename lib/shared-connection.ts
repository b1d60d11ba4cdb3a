/**
 * Shared mode: every tab of the origin talks to one SharedWorker per dbName. If that worker
 * dies under a live tab (Chromium runs it in the renderer process of the tab that created it,
 * so a crash of that tab takes it along), the tab notices through the worker's Web Lock or the
 * port's close event, rejects what was pending with 'WORKER', and starts a new worker, which
 * reopens the replica from IndexedDB; watches and leadership are re-registered by attach().
 */
import { BatteryError } from '../shared-worker/protocol/errors.js';
import type { Battery } from './battery.js';
import { standForLeader, type Candidacy } from './leader-election.js';
import { messagePortWire } from '../shared-worker/protocol/port-adapters.js';
import { newBattery, toBatteryError, type TabContext } from './tab-context.js';
import { locksOf, whenLockFree } from '../shared-worker/protocol/tab-lock.js';
import type { WirePort } from '../shared-worker/protocol/worker-protocol.js';

/**
 * How often a tab re-creates a SharedWorker that died under it (e.g. it shared a renderer
 * process with a tab that crashed), before giving up and reporting 'WORKER'. Attempt n waits
 * 100·2^n ms: a worker that dies at start-up (bad script) is not retried in a tight loop.
 */
const MAX_WORKER_RESTARTS = 5;

export async function connectShared(ctx: TabContext): Promise<Battery> {
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
