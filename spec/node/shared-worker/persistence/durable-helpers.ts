import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';
import { openDurableReplica, type DurableReplicaHandle, type CreateReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import type { SnapshotThresholds } from '../../../../shared-worker/persistence/snapshot-policy.js';
import { createFakeReplica } from './fake-replica.js';

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

/** Lets every pending timer (group commits, idle snapshots) run. */
export function settle(ms = 5): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
