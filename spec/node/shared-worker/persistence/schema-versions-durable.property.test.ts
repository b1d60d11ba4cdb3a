/**
 * Mixed schema versions through the durable replica (property): three replicas, each on its own
 * storage, run one migration list at their own pace (DurableReplica.migrate, as connectBattery's
 * `migrations` does) amid writes to whatever columns they have; deltas taken against stale vectors
 * are delivered late, reordered, duplicated or never, from any replica (so cells of a column the
 * sender lacks are relayed), and replicas are closed and reopened from storage (start-up replay of
 * the log: schema change entries, merges holding extra cells) in the middle.
 * The list has what replica-level properties do not: a step of two statements, a NOT NULL
 * DEFAULT column, a quoted odd column name, a column dropped and then added again (its cells come
 * back: docs/schema-evolution.md). At the end every replica applies every step, all exchange
 * everything: all tables and registers are identical, and equal to an oracle that had every
 * column from the start and heard each write at once.
 * Seeded: set FC_SEED to replay a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEYS, schemaCommands, writeSql, type Cmd } from '../replica/schema-version-commands.js';
import { MAX_CLOCK_DRIFT_MS } from '../../../../shared-worker/protocol/clock-drift.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { VersionVector } from '../../../../shared-worker/replica/contracts/version-vector.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { registers } from '../replica/replica-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);
const ODD = '"Odd ""c"""';
const BASE = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)';
const STEPS = [
  BASE,
  `ALTER TABLE t ADD COLUMN b INTEGER NOT NULL DEFAULT 7; ALTER TABLE t ADD COLUMN ${ODD} TEXT`,
  'ALTER TABLE t DROP COLUMN a',
  'ALTER TABLE t ADD COLUMN a TEXT',
  'ALTER TABLE t ADD COLUMN e REAL DEFAULT 1.5',
];
/** Non-key columns (as written in SQL) at each schema version. */
const COLUMNS = [[], ['a'], ['a', 'b', ODD], ['b', ODD], ['b', ODD, 'a'], ['b', ODD, 'a', 'e']];
const FINAL = COLUMNS[STEPS.length]!;


const NODES = ['b000000000000001', 'b000000000000002', 'b000000000000003'];

async function run(cmds: Cmd[]): Promise<void> {
  const clock = { t: 1_000_000 };
  const now = () => clock.t++;
  const stores = NODES.map(() => new Map<string, unknown>());
  // What an app does on every start: open, run its migration list, enable sync.
  const start = async (i: number, version: number): Promise<DurableReplicaHandle> => {
    const d = await openDurableReplica({
      store: new MemoryKeyValueStore({ data: stores[i]! }),
      createReplica: (o) => createReplica({ ...o, now, maxClockDriftMs: MAX_CLOCK_DRIFT_MS }),
      warn: () => {},
    });
    expect(d.startupErrors()).toEqual([]);
    await d.migrate(STEPS.slice(0, version));
    if (version > 0) await d.enableSync('t');
    return d;
  };
  const versions = [1, 1, 1];
  const replicas: DurableReplicaHandle[] = [];
  for (let i = 0; i < NODES.length; i++) replicas.push(await start(i, 1));
  // The oracle: every column ever from the start (b and e added the same way, so defaults match).
  const oracle = await createReplica({ nodeId: 'b0000000000000ff', now, maxClockDriftMs: MAX_CLOCK_DRIFT_MS });
  oracle.migrate([BASE, STEPS[1]!, STEPS[4]!]);
  oracle.enableSync('t');
  const hear = (r: DurableReplicaHandle) => oracle.applyChanges(r.changesSince(oracle.getVector()));

  const history: VersionVector[][] = replicas.map(() => [{}]);
  const net: Array<{ to: number; batch: ChangeSet }> = [];
  for (const c of cmds) {
    if (c.kind === 'write') {
      const r = replicas[c.r]!;
      // b is NOT NULL: a null written to it is the app's error, so null is written as 0 there.
      const w = writeSql(c, COLUMNS[versions[c.r]!]!, (col, v) => (col === 'b' && v === null ? 0 : v));
      await r.exec(w.sql, w.params as never);
      hear(r);
    } else if (c.kind === 'migrate') {
      if (versions[c.r]! < STEPS.length) versions[c.r]!++;
      await replicas[c.r]!.migrate(STEPS.slice(0, versions[c.r]!));
      expect(replicas[c.r]!.getSchemaVersion()).toBe(versions[c.r]);
    } else if (c.kind === 'reopen') {
      const r = replicas[c.r]!;
      const before = registers(r as unknown as Replica);
      const rowsBefore = (await r.exec('SELECT * FROM t ORDER BY id')).rows;
      await r.close();
      const again = await start(c.r, versions[c.r]!);
      replicas[c.r] = again;
      expect(again.getSchemaVersion()).toBe(versions[c.r]);
      expect((await again.exec('SELECT * FROM t ORDER BY id')).rows).toEqual(rowsBefore);
      expect(registers(again as unknown as Replica)).toBe(before);
    } else if (c.kind === 'send') {
      const past = history[c.to]!;
      const since = past[Math.max(0, past.length - 1 - c.stale)]!;
      net.push({ to: c.to, batch: replicas[c.from]!.changesSince(since) });
    } else if (net.length > 0) {
      const i = c.pick % net.length;
      const m = net[i]!;
      if (!c.keep) net.splice(i, 1);
      await replicas[m.to]!.applyChanges(m.batch);
      history[m.to]!.push(replicas[m.to]!.getVector());
    }
  }
  for (let i = 0; i < replicas.length; i++) {
    versions[i] = STEPS.length;
    await replicas[i]!.migrate(STEPS);
  }
  for (let round = 0; round < 2; round++) {
    for (const to of replicas) for (const from of replicas) if (to !== from) await to.applyChanges(from.changesSince(to.getVector()));
  }
  // Once more from storage: what every replica acknowledged is what it reopens with.
  for (let i = 0; i < replicas.length; i++) {
    await replicas[i]!.close();
    replicas[i] = await start(i, STEPS.length);
  }
  const cols = `id, ${FINAL.join(', ')}`;
  const want = (await replicas[0]!.exec(`SELECT ${cols} FROM t ORDER BY id`)).rows;
  const wantRegs = registers(replicas[0]! as unknown as Replica);
  for (const r of replicas) {
    expect((await r.exec(`SELECT ${cols} FROM t ORDER BY id`)).rows).toEqual(want);
    expect(registers(r as unknown as Replica)).toBe(wantRegs);
  }
  expect(want).toEqual(oracle.exec(`SELECT ${cols} FROM t ORDER BY id`).rows);
  for (const r of replicas) await r.close();
  oracle.close();
}

describe('mixed schema versions on durable replicas (property)', () => {
  it('multi-statement, NOT NULL DEFAULT, odd-name, drop-then-re-add steps amid writes, relays and reopens from storage converge to the oracle', async () => {
    console.log(`schema-versions-durable property seed: ${SEED} (set FC_SEED to change)`);
    await fc.assert(fc.asyncProperty(fc.array(schemaCommands(2), { minLength: 10, maxLength: 50 }), run), { seed: SEED, numRuns: 40 });
  }, 900_000); // generous: the machine is shared; no timing is asserted
});
