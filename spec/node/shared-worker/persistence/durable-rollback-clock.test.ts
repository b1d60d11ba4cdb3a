/**
 * A write refused by storage (QUOTA) is rolled back by rebuilding the replica from storage. Its
 * stamp may already have left (a live push, a delta computed from memory), so the rebuilt replica
 * must never stamp another write with it: two different values under one stamp make replicas
 * diverge while their version vectors say they are equal.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

const T = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, v TEXT)';
const A = 'a000000000000001';
const B = 'b000000000000002';

function open(store: KeyValueStore, nodeId: string, now?: () => number): Promise<DurableReplicaHandle> {
  return openDurableReplica({ store, createReplica, replicaOptions: { nodeId, ...(now ? { now } : {}) }, warn: () => {} });
}

/** The hlc stamps (put registers) of one origin in a change set. */
function stampsOf(cs: ChangeSet, node: string): number[] {
  const idx = cs.nodes.indexOf(node);
  return cs.tables.flatMap((t) => t.rows.flatMap((r) => (r.put && r.put[1] === idx ? [r.put[0]] : [])));
}

async function rows(d: DurableReplicaHandle): Promise<unknown> {
  return (await d.exec('SELECT * FROM t ORDER BY id')).rows;
}

describe('rollback after a refused write', () => {
  it('never hands out the refused write\'s stamp again, even with a frozen wall clock', async () => {
    const frozen = 1_800_000_000_000;
    const store = new MemoryKeyValueStore();
    const a = await open(store, A, () => frozen);
    const b = await open(new MemoryKeyValueStore(), B, () => frozen);
    for (const d of [a, b]) {
      await d.exec(T);
      await d.enableSync('t');
    }

    store.failNextWrites(1);
    const refused = a.exec("INSERT INTO t VALUES ('x', 'refused')").then(() => 'acknowledged', (e: { code?: string }) => e.code);
    // Before storage answers, the write is in memory and may be sent to a peer: B gets it.
    const leaked = a.changesSince({});
    const [refusedStamp] = stampsOf(leaked, a.nodeId);
    await b.applyChanges(leaked);
    expect(await refused).toBe('QUOTA');
    expect(await rows(a)).toEqual([]);

    await a.exec("INSERT INTO t VALUES ('x', 'acknowledged')");
    const [ackStamp] = stampsOf(a.changesSince({}), a.nodeId);
    expect(ackStamp).toBeGreaterThan(refusedStamp!);

    // Full exchange both ways: the acknowledged write wins on both sides.
    await b.applyChanges(a.changesSince(b.getVector()));
    await a.applyChanges(b.changesSince(a.getVector()));
    expect(await rows(a)).toEqual([{ id: 'x', v: 'acknowledged' }]);
    expect(await rows(b)).toEqual(await rows(a));
    expect(b.getVector()).toEqual(a.getVector());
    await a.close();
    await b.close();
  });

  it('keeps the floor across a rollback that issued nothing (a failed rollback retried)', async () => {
    const frozen = 1_800_000_000_000;
    const store = new MemoryKeyValueStore();
    const a = await open(store, A, () => frozen);
    await a.exec(T);
    await a.enableSync('t');

    store.failNextWrites(1);
    const refused = a.exec("INSERT INTO t VALUES ('x', 'refused')");
    const [refusedStamp] = stampsOf(a.changesSince({}), a.nodeId);
    await expect(refused).rejects.toMatchObject({ code: 'QUOTA' });
    // A second refusal whose commit carries no stamp (a non-synced write): the replica rebuilt
    // again must still remember the first refused stamp.
    await a.exec('CREATE TABLE notes(n)');
    store.failNextWrites(1);
    await expect(a.exec('INSERT INTO notes VALUES (1)')).rejects.toMatchObject({ code: 'QUOTA' });

    await a.exec("INSERT INTO t VALUES ('x', 'acknowledged')");
    const [ackStamp] = stampsOf(a.changesSince({}), a.nodeId);
    expect(ackStamp).toBeGreaterThan(refusedStamp!);
    await a.close();
  });
});
