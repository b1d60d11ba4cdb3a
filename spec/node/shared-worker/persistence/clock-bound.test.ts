/**
 * One remote stamp must not be able to end local writing. The replica's clock follows the newest
 * stamp it accepted, so the drift bound is also a bound on how far one peer can push it; with an
 * unbounded drift a stamp at 2^53 - 1 made every later local write fail with SKEW, for good.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { HLC_COUNTER_SPAN, hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { MAX_CLOCK_DRIFT_MS } from '../../../../shared-worker/protocol/clock-drift.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

const T = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, v TEXT)';
const A = 'a000000000000001';
const B = 'b000000000000002';
const NOW = 1_800_000_000_000;

function open(store: KeyValueStore, nodeId: string, maxClockDriftMs: number): Promise<DurableReplicaHandle> {
  return openDurableReplica({ store, createReplica, replicaOptions: { nodeId, now: () => NOW, maxClockDriftMs }, warn: () => {} });
}

/** Every stamp in the change set set to `hlc`. */
function restamp(cs: ChangeSet, hlc: number): ChangeSet {
  for (const table of cs.tables) {
    for (const row of table.rows) {
      if (row.put) row.put[0] = hlc;
      for (const cell of row.cells) cell[2] = hlc;
    }
  }
  return cs;
}

/** The largest stamp A itself wrote. */
function ownStamp(d: DurableReplicaHandle): number {
  const cs = d.changesSince({});
  const a = cs.nodes.indexOf(d.nodeId);
  return Math.max(...cs.tables.flatMap((t) => t.rows.flatMap((r) => r.cells.filter((c) => c[3] === a).map((c) => c[2]))));
}

async function pair(drift: number): Promise<{ store: MemoryKeyValueStore; a: DurableReplicaHandle; fromB: ChangeSet }> {
  const store = new MemoryKeyValueStore();
  const a = await open(store, A, drift);
  const b = await open(new MemoryKeyValueStore(), B, drift);
  for (const d of [a, b]) {
    await d.exec(T);
    await d.enableSync('t');
  }
  await b.exec("INSERT INTO t VALUES ('b', 'from b')");
  const fromB = b.changesSince({});
  await b.close();
  return { store, a, fromB };
}

describe('the clock drift bound', () => {
  it('refuses Infinity, NaN, 0, negatives and more than 24 h when a replica opens', async () => {
    for (const drift of [Infinity, Number.NaN, 0, -1, MAX_CLOCK_DRIFT_MS + 1, 1e15]) {
      await expect(createReplica({ nodeId: A, maxClockDriftMs: drift }), String(drift)).rejects.toMatchObject({ code: 'BAD_OP' });
    }
  });

  it('refuses a stamp near 2^53 even at the largest drift', async () => {
    const { a, fromB } = await pair(MAX_CLOCK_DRIFT_MS);
    await expect(a.applyChanges(restamp(fromB, Number.MAX_SAFE_INTEGER))).rejects.toMatchObject({ code: 'SKEW' });
    await a.exec("INSERT INTO t VALUES ('a', 'still writing')");
    await a.close();
  });

  it('keeps local writes working after a stamp at exactly the largest drift, also after reopening', async () => {
    const { store, a, fromB } = await pair(MAX_CLOCK_DRIFT_MS);
    const farthest = hlcFromMs(NOW + MAX_CLOCK_DRIFT_MS) + HLC_COUNTER_SPAN - 1;
    await a.applyChanges(restamp(fromB, farthest));
    // More writes than one millisecond's counter holds: they carry on into later milliseconds.
    for (let i = 0; i < HLC_COUNTER_SPAN + 10; i++) await a.exec('INSERT INTO t VALUES (?, ?)', [`a${i}`, 'after']);
    const lastBeforeClose = ownStamp(a);
    expect(lastBeforeClose).toBeGreaterThan(farthest + HLC_COUNTER_SPAN);
    await a.close();

    // The wall clock has not moved; the reopened replica counts on from its stored stamps.
    const reopened = await open(store.reopen(), A, MAX_CLOCK_DRIFT_MS);
    await reopened.exec("INSERT INTO t VALUES ('a-reopened', 'after reopen')");
    expect(ownStamp(reopened)).toBeGreaterThan(lastBeforeClose);
    expect((await reopened.exec('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: HLC_COUNTER_SPAN + 12 }]);
    await reopened.close();
  });
});
