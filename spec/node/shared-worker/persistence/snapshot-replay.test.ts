import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../../../shared-worker/persistence/durable-log-record.js';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { replayRecords } from '../../../../shared-worker/persistence/log-replay.js';
import { mergeChangeSets } from '../../../../shared-worker/replica/contracts/change-set.js';
import { createFakeReplica, dumpFake } from './fake-replica.js';

const SEED = 31337;

/** Runs `stmts` on a fresh fake replica (with a remote peer mixed in) and returns its commits as log records. */
async function recordsOf(stmts: string[]): Promise<{ records: LogRecord[]; expected: unknown }> {
  const r = await createFakeReplica({ nodeId: 'local' });
  const remote = await createFakeReplica({ nodeId: 'remote' });
  const records: LogRecord[] = [];
  r.onCommit((c: Commit) => records.push({ seq: records.length + 1, version: c.version, changes: c.changes, rows: c.rows }));
  for (const s of stmts) {
    if (s.startsWith('remote ')) {
      remote.exec(s.slice(7));
      r.applyChanges(remote.changesSince(r.getVector()));
    } else {
      r.exec(s);
    }
  }
  return { records, expected: dumpFake(r) };
}

function counting(r: Replica): { applies: number; replays: number } {
  const calls = { applies: 0, replays: 0 };
  const apply = r.applyChanges.bind(r);
  const replay = r.replayRows.bind(r);
  r.applyChanges = (cs, o) => { calls.applies++; return apply(cs, o); };
  r.replayRows = (rows) => { calls.replays++; replay(rows); };
  return calls;
}

describe('log replay with merged runs', () => {
  it('ends in the same state as one call per record, for random streams', async () => {
    const stmt = fc.oneof(
      fc.tuple(fc.constantFrom('put', 'del'), fc.nat({ max: 5 }), fc.nat({ max: 9 })).map(([op, k, v]) => (op === 'put' ? `put k${k} v${v}` : `del k${k}`)),
      fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 9 })).map(([k, v]) => `note ${k} n${v}`),
      fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 9 })).map(([k, v]) => `put k${k} v${v}; note ${k} mixed${v}`),
      fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 9 })).map(([k, v]) => `remote put k${k} r${v}`),
    );
    await fc.assert(fc.asyncProperty(fc.array(stmt, { maxLength: 30 }), async (stmts) => {
      const { records, expected } = await recordsOf(stmts);
      const merged = await createFakeReplica({ nodeId: 'local' });
      replayRecords(merged, records);
      const oneByOne = await createFakeReplica({ nodeId: 'local' });
      for (const r of records) {
        if (r.changes) oneByOne.applyChanges(r.changes, { trusted: true });
        if (r.rows.length) oneByOne.replayRows(r.rows);
      }
      expect(dumpFake(merged)).toEqual(expected);
      expect(dumpFake(oneByOne)).toEqual(expected);
      expect(merged.getVector()).toEqual(oneByOne.getVector());
    }), { seed: SEED, numRuns: 150 });
  });

  it('merges runs of one kind, splits on a repeated key and applies mixed records alone', async () => {
    const { records } = await recordsOf([
      'put a 1', 'put b 1', 'put c 1', // one run of changes
      'note 1 x', 'note 2 y', // one run of rows
      'put d 1', 'put d 2', // 'd' again within the run: split
      'put e 1; note 3 z', // mixed: alone
      'remote put f 1', 'put g 1', // remote and local changes merge (node indexes remapped)
    ]);
    const r = await createFakeReplica({ nodeId: 'local' });
    const calls = counting(r);
    replayRecords(r, records);
    expect(calls).toEqual({ applies: 5, replays: 2 });
    expect(r.getVector()).toEqual({ local: expect.any(Number), remote: expect.any(Number) });
  });

  it('remaps node indexes when merging change sets', () => {
    const merged = mergeChangeSets([
      { nodes: ['x', 'y'], tables: [{ table: 't', columns: ['c'], rows: [{ pk: [1], put: [5, 1], del: null, cells: [[0, 'v', 5, 1]] }] }] },
      { nodes: ['y', 'z'], tables: [{ table: 't', columns: ['c'], rows: [{ pk: [2], put: null, del: [6, 1], cells: [] }] }] },
    ]);
    expect(merged.nodes).toEqual(['x', 'y', 'z']);
    expect(merged.tables).toHaveLength(1);
    expect(merged.tables[0]!.rows.map((r) => [r.put, r.del, r.cells])).toEqual([[[5, 1], null, [[0, 'v', 5, 1]]], [null, [6, 2], []]]);
  });
});
