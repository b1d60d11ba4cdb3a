/**
 * Start-up from storage: the snapshot into a fresh replica, then every log entry after it in
 * order (changes through applyChanges({trusted}), non-synced rows through replayRows). Used at
 * open and again to roll memory back after a refused write.
 */
import { logKey } from './durable-log-record.js';
import type { BatteryError } from '../protocol/errors.js';
import type { KeyValueStore } from './kv-store.js';
import type { Replica, ReplicaOptions } from '../replica/contracts/replica-types.js';
import { replayRecords } from './log-replay.js';
import { loadState, logKeysBetween, snapshotWrite, type LoadedState } from './snapshot-store.js';

export type CreateReplica = (options: ReplicaOptions & { data?: Uint8Array }) => Promise<Replica>;

export interface RestoreOptions {
  store: KeyValueStore;
  createReplica: CreateReplica;
  replicaOptions?: ReplicaOptions;
}

export interface Restored {
  replica: Replica;
  loaded: LoadedState;
  /** What to add to replica.getVersion() to get the version storage recorded. */
  versionOffset: number;
  /**
   * Log entries that did not apply (the first failed; the rest were made on top of it), with
   * why. They are moved out of the log, not deleted (repairAtOpen), so that a fixed version can
   * still apply them; the database opens from the state before them.
   */
  setAside: { seqs: number[]; error: BatteryError } | null;
}

/** Where set-aside log entries are kept: `aside:<when>:<log key>`, never read back by this version. */
export const ASIDE_PREFIX = 'aside:';

/** Snapshot + log replay into a fresh replica. */
export async function restore(o: RestoreOptions, warn: (m: string) => void): Promise<Restored> {
  const loaded = await loadState(o.store, warn);
  const replica = await o.createReplica({ ...o.replicaOptions, ...(loaded.snapshot ? { data: loaded.snapshot } : {}) });
  // A record that decodes but does not apply is a bug, not damage: it must neither lock the user
  // out nor be dropped for good. The replica keeps what applied before it; the rest is set aside.
  const outcome = replayRecords(replica, loaded.records);
  let setAside: Restored['setAside'] = null;
  if (outcome.failure) {
    setAside = { seqs: loaded.records.slice(outcome.applied).map((r) => r.seq), error: outcome.failure.error };
    loaded.records = loaded.records.slice(0, outcome.applied);
    loaded.recordSizes = loaded.recordSizes.slice(0, outcome.applied);
    loaded.recordBytes = loaded.recordSizes.reduce((a, b) => a + b, 0);
    loaded.lastSeq = loaded.records.length > 0 ? loaded.records[loaded.records.length - 1]!.seq : loaded.meta?.snapshotSeq ?? 0;
  }
  const last = loaded.records[loaded.records.length - 1];
  const versionOffset = last ? last.version - replica.getVersion()
    : loaded.meta ? loaded.meta.version - replica.getVersion() : 0;
  return { replica, loaded, versionOffset, setAside };
}

/** Makes storage fit to append to, before the first write of a freshly opened database. */
export async function repairAtOpen(store: KeyValueStore, { replica, loaded, versionOffset, setAside }: Restored): Promise<void> {
  if (setAside) {
    // Moved in one transaction (copy + delete), before anything is appended where they were.
    const keys = setAside.seqs.map(logKey);
    const raw = await store.getMany<unknown>(keys);
    const when = Date.now();
    await store.write({ set: keys.map((k, i) => [`${ASIDE_PREFIX}${when}:${k}`, raw[i]] as [string, unknown]), del: keys });
  }
  if (!loaded.meta) {
    // A new database: its first snapshot makes the node id and the replica's own tables durable
    // before any log entry refers to them.
    const data = replica.export();
    const version = replica.getVersion() + versionOffset;
    await store.write(snapshotWrite({ snapshotSeq: loaded.lastSeq, snapshotBytes: data.byteLength, nodeId: replica.nodeId, version },
      data, [...loaded.staleKeys, ...logKeysBetween(1, loaded.lastSeq)]));
    loaded.meta = { format: 1, snapshotSeq: loaded.lastSeq, snapshotBytes: data.byteLength, nodeId: replica.nodeId, version };
    loaded.records = [];
    loaded.recordSizes = [];
    loaded.recordBytes = 0;
  } else if (loaded.staleKeys.length > 0) {
    // Damaged entries must go before new ones are appended after them, or the next start-up
    // would stop at the damage and lose the new ones. Deleting needs no quota.
    await store.write({ del: loaded.staleKeys });
  }
}
