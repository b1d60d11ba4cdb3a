/**
 * The bundle entry of dist/battery-worker.js. The same script runs as the per-origin
 * SharedWorker (`name: 'rtc-battery:<dbName>'`, one port per tab from `connect` events) and, in
 * dedicated mode, as the module Worker a leader tab hosts (ports handed over with
 * ATTACH_PORT). Either way one Hub serves the ports; the replica opens on the first hello,
 * with that tab's wasm URL.
 */
import initSqlJs from 'sql.js';
import { Hub } from './hub.js';
import { openDurableReplica } from '../persistence/durable-replica.js';
import { IdbKeyValueStore } from '../persistence/idb-kv-store.js';
import { createReplica } from '../replica/replica.js';
import { syncPeerRoom } from '../sync/mesh-room.js';
import { noLiveness, type TabLiveness } from './tab-registry.js';
import { holdLock, locksOf, whenLockedTabGone } from '../protocol/tab-lock.js';
import { messagePortWire } from '../protocol/port-adapters.js';
import { ATTACH_PORT, type HelloMessage } from '../protocol/worker-protocol.js';
import type { DurableReplica } from '../replica/contracts/replica-types.js';

/** The few worker globals used here (tsconfig's lib is DOM, which lacks the worker scopes). */
interface WorkerScope {
  onconnect?: ((e: MessageEvent) => void) | null;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
  addEventListener(type: 'connect', listener: (e: MessageEvent) => void): void;
}

const scope = globalThis as unknown as WorkerScope;

const locks = locksOf(globalThis);
const workerLock = `rtc-battery:worker:${crypto.randomUUID()}`;
// Held before any tab is welcomed (openReplica waits for it), released only by this worker's death.
const workerLockHeld = locks ? holdLock(locks, workerLock) : Promise.resolve(() => {});

async function openReplica(hello: HelloMessage): Promise<DurableReplica> {
  // Fetching and compiling the wasm overlaps the lock waits and the snapshot read (createReplica
  // needs it only once the bytes are in): 20-140 ms of a ~1 s cold start of 50 MB were serial.
  const sqlJs = initSqlJs({ locateFile: () => hello.wasmUrl });
  sqlJs.catch(() => {}); // awaited below; must not go unhandled when opening fails before that
  await workerLockHeld;
  // One writer per database: two hosts appending to one log would reuse sequence keys and lose
  // writes. SharedWorkers are already one per dbName, but in dedicated mode the next leader's
  // worker can start while the previous host's worker is still shutting down; it waits here
  // until the browser releases the lock with that worker.
  if (locks) await holdLock(locks, `rtc-battery:store:${hello.dbName}`);
  return openDurableReplica({
    // 'strict' asks IndexedDB to flush to disk before a transaction completes (survives power
    // loss); 'relaxed' completes once the OS has the data. Either way a write is acknowledged
    // only after its transaction completes, so a killed tab or worker loses nothing.
    store: new IdbKeyValueStore(hello.dbName, { durability: hello.durability }),
    createReplica: async (options) => createReplica({ ...options, sqlJs: await sqlJs }),
    replicaOptions: hello.maxClockDriftMs !== undefined ? { maxClockDriftMs: hello.maxClockDriftMs } : {},
    warn: (message) => {
      console.warn(message);
      hub.diagnose('persistence', message);
    },
  });
}

const liveness: TabLiveness = locks
  ? {
    watch: (tabId, onGone) => whenLockedTabGone(locks, tabId, onGone, (id) => {
      const message = `tab ${id} holds no liveness lock; it is forgotten only when it says bye`;
      console.warn(`rtc-battery worker: ${message}`);
      hub.diagnose('worker', message);
    }),
  }
  : noLiveness;

const hub = new Hub({
  openReplica,
  liveness,
  peerRoom: syncPeerRoom,
  ...(locks ? { workerLock } : {}),
  log: (message, error) => console.error(`rtc-battery worker: ${message}`, error),
});

if ('onconnect' in scope) {
  scope.addEventListener('connect', (e) => {
    const port = e.ports[0];
    if (port) hub.attach(messagePortWire(port));
  });
} else {
  scope.addEventListener('message', (e) => {
    const data = e.data as { kind?: unknown } | null;
    const port = e.ports[0];
    if (data && data.kind === ATTACH_PORT.kind && port) hub.attach(messagePortWire(port));
  });
}
