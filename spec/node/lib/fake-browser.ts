/**
 * One browser faked in Node for connectBattery() in shared mode: SharedWorker is a Hub per
 * "worker instance" (reached through real MessageChannels) over a durable replica on an in-memory
 * key-value store, navigator.locks is FakeLocks. The store outlives worker instances, so a test
 * can restart the worker (a reload of every tab) or kill it mid-write (a crash).
 */
import { vi } from 'vitest';
import { messagePortWire } from '../../../shared-worker/protocol/port-adapters.js';
import type { WirePort } from '../../../shared-worker/protocol/worker-protocol.js';
import { holdLock } from '../../../shared-worker/protocol/tab-lock.js';
import { Hub } from '../../../shared-worker/hub/hub.js';
import { openDurableReplica } from '../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../shared-worker/replica/replica.js';
import { FakeLocks } from './fake-locks.js';
import { FakeLiveness } from '../shared-worker/hub/hub-fixture.js';

interface WorkerInstance {
  hub: Hub;
  /** A crashed process: its ports fall silent (no close event) and its Web Lock is released. */
  kill(): void;
  dead: boolean;
}

function silencedWhenDead(wire: WirePort, instance: { dead: boolean }): WirePort {
  return {
    post: (m) => {
      if (!instance.dead) wire.post(m);
    },
    listen: (handler) => wire.listen((m) => {
      if (!instance.dead) handler(m);
    }),
    onClose: (handler) => wire.onClose(handler),
    close: () => wire.close(),
  };
}

export interface FakeBrowser {
  instances: WorkerInstance[];
  /** The browser's IndexedDB: kept across worker instances. */
  data: Map<string, unknown>;
  /** The store the newest worker instance writes to. */
  store(): MemoryKeyValueStore;
}

/** Stubs SharedWorker and navigator.locks; undo with vi.unstubAllGlobals(). */
export function fakeBrowser(data = new Map<string, unknown>()): FakeBrowser {
  const locks = new FakeLocks();
  const instances: WorkerInstance[] = [];
  let store = new MemoryKeyValueStore({ data });
  let n = 0;
  const spawn = (): WorkerInstance => {
    const workerLock = `rtc-battery:worker:${++n}`;
    const held = holdLock(locks, workerLock);
    store = new MemoryKeyValueStore({ data });
    const own = store;
    const hub = new Hub({
      openReplica: async () => {
        await held;
        return openDurableReplica({ store: own, createReplica, warn: () => {} });
      },
      liveness: new FakeLiveness(),
      workerLock,
    });
    const instance: WorkerInstance = {
      hub,
      dead: false,
      kill() {
        instance.dead = true;
        void held.then((release) => release());
      },
    };
    instances.push(instance);
    return instance;
  };
  class FakeSharedWorker {
    readonly port: MessagePort;
    constructor(_url: string, _options: object) {
      let live = instances.at(-1);
      if (!live || live.dead) live = spawn();
      const mc = new MessageChannel();
      this.port = mc.port1;
      live.hub.attach(silencedWhenDead(messagePortWire(mc.port2), live));
    }
    addEventListener() {}
  }
  vi.stubGlobal('SharedWorker', FakeSharedWorker);
  vi.stubGlobal('navigator', { locks });
  return { instances, data, store: () => store };
}

export const browserOptions = { dbName: 'node-db', mode: 'shared' as const, workerUrl: 'http://127.0.0.1/w.js', wasmUrl: 'http://127.0.0.1/s.wasm', requestTimeoutMs: 20_000 };
