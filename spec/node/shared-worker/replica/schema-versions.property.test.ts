/**
 * Peers on different schema versions keep syncing (property): three replicas run the same
 * migration list (ADD and DROP COLUMN) at their own pace, interleaved with writes to whatever
 * columns they have at the moment, deltas sent against stale vectors and delivered late,
 * reordered, duplicated or never, and replicas reopened from their file now and then. Once every
 * replica has applied every step and everything was exchanged, all tables and registers are
 * identical, and equal to an oracle that had every column from the start and heard every write
 * at once: so every value written to a column before some peer had it is there.
 * Seeded: set FC_SEED to replay a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEYS, schemaCommands, writeSql, type Cmd } from './schema-version-commands.js';
import { MAX_CLOCK_DRIFT_MS } from '../../../../shared-worker/protocol/clock-drift.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { VersionVector } from '../../../../shared-worker/replica/contracts/version-vector.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { dump, exchangeAll, pull, registers } from './replica-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);
const BASE = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)';
const STEPS = [
  "ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'dflt'",
  'ALTER TABLE t ADD COLUMN c INTEGER',
  'ALTER TABLE t DROP COLUMN a',
  'ALTER TABLE t ADD COLUMN e',
];
/** Non-key columns after the first v steps. */
const COLUMNS = [['a'], ['a', 'b'], ['a', 'b', 'c'], ['b', 'c'], ['b', 'c', 'e']];
const FINAL = COLUMNS[STEPS.length]!;
const NODES = ['a000000000000001', 'a000000000000002', 'a000000000000003'];


async function run(cmds: Cmd[]): Promise<void> {
  const clock = { t: 1_000_000 };
  const now = () => clock.t++;
  const open = (nodeId: string, data?: Uint8Array) => createReplica({ nodeId, now, maxClockDriftMs: MAX_CLOCK_DRIFT_MS, ...(data ? { data } : {}) });
  const replicas: Replica[] = [];
  for (const id of NODES) {
    const r = await open(id);
    r.exec(BASE);
    r.enableSync('t');
    replicas.push(r);
  }
  // The oracle: every column from the start (added the same way, so defaults match), hears each write at once.
  const oracle = await open('a0000000000000ff');
  oracle.exec(BASE);
  oracle.enableSync('t');
  oracle.migrate([STEPS[0]!, STEPS[1]!, STEPS[3]!]);

  const versions = [0, 0, 0];
  const history: VersionVector[][] = replicas.map(() => [{}]);
  const net: Array<{ to: number; batch: ChangeSet }> = [];
  for (const c of cmds) {
    if (c.kind === 'write') {
      const r = replicas[c.r]!;
      const w = writeSql(c, COLUMNS[versions[c.r]!]!);
      r.exec(w.sql, w.params as never);
      pull(oracle, r);
    } else if (c.kind === 'migrate') {
      if (versions[c.r]! < STEPS.length) versions[c.r]!++;
      replicas[c.r]!.migrate(STEPS.slice(0, versions[c.r]!));
      expect(replicas[c.r]!.getSchemaVersion()).toBe(versions[c.r]);
    } else if (c.kind === 'reopen') {
      const r = replicas[c.r]!;
      const before = registers(r);
      const again = await open(NODES[c.r]!, r.export());
      r.close();
      replicas[c.r] = again;
      expect(registers(again)).toBe(before);
      expect(again.getSchemaVersion()).toBe(versions[c.r]);
    } else if (c.kind === 'send') {
      const past = history[c.to]!;
      const since = past[Math.max(0, past.length - 1 - c.stale)]!;
      net.push({ to: c.to, batch: replicas[c.from]!.changesSince(since) });
    } else if (net.length > 0) {
      const i = c.pick % net.length;
      const m = net[i]!;
      if (!c.keep) net.splice(i, 1);
      replicas[m.to]!.applyChanges(m.batch);
      history[m.to]!.push(replicas[m.to]!.getVector());
    }
  }
  for (const r of replicas) r.migrate(STEPS);
  exchangeAll(replicas);
  const want = dump(replicas[0]!);
  const wantRegs = registers(replicas[0]!);
  for (const r of replicas) {
    expect(dump(r)).toBe(want);
    expect(registers(r)).toBe(wantRegs);
  }
  const cols = `id, ${FINAL.join(', ')}`;
  expect(replicas[0]!.exec(`SELECT ${cols} FROM t ORDER BY id`).rows).toEqual(oracle.exec(`SELECT ${cols} FROM t ORDER BY id`).rows);
  for (const r of [...replicas, oracle]) r.close();
}

describe('mixed schema versions (property)', () => {
  it('add/drop column migrations at different times, writes, partial delivery and reopens converge to the oracle', async () => {
    console.log(`schema-versions property seed: ${SEED} (set FC_SEED to change)`);
    await fc.assert(fc.asyncProperty(fc.array(schemaCommands(1), { minLength: 10, maxLength: 50 }), run), { seed: SEED, numRuns: 60 });
  }, 600_000); // generous: the machine is shared; no timing is asserted
});
