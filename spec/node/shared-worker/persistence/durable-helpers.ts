import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';
import type { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { openDurableReplica, type DurableReplicaHandle, type CreateReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import type { SnapshotThresholds } from '../../../../shared-worker/persistence/snapshot-policy.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createFakeReplica, dumpFake } from './fake-replica.js';

export interface OpenOptions {
  createReplica?: CreateReplica;
  snapshotEvery?: Partial<SnapshotThresholds>;
  warnings?: string[];
}

export function open(store: KeyValueStore, o: OpenOptions = {}): Promise<DurableReplicaHandle> {
  return openDurableReplica({
    store,
    createReplica: o.createReplica ?? createFakeReplica,
    snapshotEvery: o.snapshotEvery,
    warn: (m) => { (o.warnings ?? []).push(m); },
  });
}

/**
 * Opens over fake replicas and keeps the newest one the durable replica made (it makes a new one
 * when it rolls back to storage), so a test can compare what memory holds.
 */
export async function openWatched(store: KeyValueStore, o: OpenOptions = {}): Promise<{ d: DurableReplicaHandle; memory(): unknown }> {
  let newest: Replica | null = null;
  const d = await open(store, {
    ...o,
    createReplica: async (options) => (newest = await createFakeReplica(options)),
  });
  return { d, memory: () => dumpFake(newest!) };
}

/** Lets every pending timer (group commits, idle snapshots) run. */
export function settle(ms = 5): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Arms a crash after `writes` more storage writes. `doneOrDead(work)` then waits, macrotask by
 * macrotask, until `work` settles or the store has dropped a write (the worker is dead: nothing
 * lands after that), and kills the store for good, so no write of the abandoned instance lands
 * while a reopen reads storage and no write is acknowledged that did not land before it.
 * A fixed sleep instead races the abandoned instance against the reopen on a loaded machine.
 * Counts every write() call: assumes no injected failures or quota refusals on this store.
 */
export function armCrash(store: MemoryKeyValueStore, writes: number): { dead(): boolean; doneOrDead(work: Promise<unknown>): Promise<void> } {
  store.crashAfterWrites(writes);
  const before = store.writeCount;
  const dead = () => store.writeCount - before > writes;
  return {
    dead,
    async doneOrDead(work) {
      let done = false;
      void work.then(() => { done = true; }, () => { done = true; });
      while (!done && !dead()) await new Promise((r) => setImmediate(r));
      store.crashAfterWrites(0);
    },
  };
}

/**
 * Holds every write made on `store` from now on: a held write neither lands nor settles until
 * release(), which lets it (and every later write) through. `held()` counts the writes waiting.
 */
export function holdWrites(store: MemoryKeyValueStore): { held(): number; release(): void } {
  const write = store.write.bind(store);
  const waiting: Array<() => void> = [];
  let holding = true;
  store.write = (batch) => {
    if (!holding) return write(batch);
    return new Promise<void>((resolve, reject) => waiting.push(() => write(batch).then(resolve, reject)));
  };
  return {
    held: () => waiting.length,
    release() {
      holding = false;
      for (const go of waiting.splice(0)) go();
    },
  };
}

/** Waits macrotask by macrotask until `pred` holds (the vitest test timeout bounds a hang). */
export async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setImmediate(r));
}

/**
 * `create` with each background-snapshot copy's step handed to `onStep` (with the step itself),
 * so that a test runs writes between the copy's steps.
 */
export function withCopySteps(create: CreateReplica, onStep: (pages: number, step: (pages: number) => boolean) => boolean): CreateReplica {
  return async (o) => {
    const r = await create(o);
    const slices = r.exportInSlices.bind(r);
    r.exportInSlices = () => {
      const cursor = slices();
      return { ...cursor, step: (pages: number) => onStep(pages, (p) => cursor.step(p)) };
    };
    return r;
  };
}
