/**
 * A commit's change set (what the durable log records and live peers receive) holds every
 * register its exec stamped, whatever the exec's size: execs of many rows read their live rows
 * through another query than one-row execs (delta.ts, changesAt).
 */
import { describe, expect, it } from 'vitest';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { dump, registers, syncedReplica } from './replica-helpers.js';

/** `b` applies every commit `a` makes, as a live peer would. */
function follow(a: Replica, b: Replica): void {
  a.onCommit((c: Commit) => {
    if (c.changes) b.applyChanges(c.changes);
  });
}

describe('the change set of a commit', () => {
  for (const n of [1, 20, 33, 300]) {
    it(`carries every row of an exec that wrote ${n} row(s): inserts, updates, deletes, re-inserts`, async () => {
      const { r: a, clock } = await syncedReplica('aaaaaaaaaaaaaaaa');
      const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb');
      follow(a, b);
      const rows = Array.from({ length: n }, (_, i) => [`k${i}`, `t${i}`, i, i % 3 === 0 ? null : `n${i}`]);
      a.exec('INSERT INTO items SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?)', [JSON.stringify(rows)]);
      clock.t += 1;
      a.exec('UPDATE items SET qty = qty * 10, note = ? WHERE qty % 2 = 0', ['even']);
      clock.t += 1;
      a.exec('DELETE FROM items WHERE qty % 3 = 1');
      clock.t += 1;
      // Inserts and updates in one exec (the exec folds its update log at once, capture-fold.ts).
      a.exec("INSERT INTO items SELECT 'x' || value, 'new', value, NULL FROM json_each(?); UPDATE items SET title = 'again' WHERE qty % 5 = 0",
        [JSON.stringify(Array.from({ length: n }, (_, i) => i))]);
      expect(dump(b)).toBe(dump(a));
      expect(registers(b)).toBe(registers(a));
    });
  }

  it('of a REPLACE of a live key keeps the delete register the key had (the removed row fires the delete trigger, not the hook)', async () => {
    const { r: a, clock } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb');
    follow(a, b);
    for (const sql of ["INSERT INTO items VALUES ('k1', 't', 1, NULL)", "DELETE FROM items WHERE id = 'k1'", "INSERT INTO items VALUES ('k1', 'back', 2, NULL)",
      "REPLACE INTO items VALUES ('k1', 'replaced', 3, 'n')", "INSERT OR REPLACE INTO items VALUES ('k1', 'again', 4, 'n'), ('k2', 'new', 5, NULL)"]) {
      a.exec(sql);
      clock.t += 1;
      expect(registers(b)).toBe(registers(a));
    }
    expect(dump(b)).toBe(dump(a));
  });

  it('asks for a snapshot only when the exec itself changed the schema (not for DDL of an earlier call)', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const commits: Commit[] = [];
    a.onCommit((c) => commits.push(c));
    const twoInserts = (k: string) => `INSERT INTO items VALUES ('${k}1', 't', 1, NULL); INSERT INTO items VALUES ('${k}2', 't', 2, NULL)`;
    a.exec(twoInserts('a'));
    a.exec('CREATE TABLE other(id TEXT PRIMARY KEY NOT NULL, v TEXT)');
    a.enableSync('other');
    a.exec(twoInserts('b'));
    a.exec("INSERT INTO items VALUES ('c', 't', 3, NULL)");
    a.exec('ALTER TABLE items ADD COLUMN extra TEXT');
    a.exec("INSERT INTO items VALUES ('d', 't', 4, NULL, 'x')");
    // ADD COLUMN of a synced table is logged as a schema change of its own, not a snapshot.
    expect(commits.map((c) => c.needsSnapshot)).toEqual([false, true, true, false, false, false, false]);
    expect(commits.map((c) => c.schemaChange?.sql ?? null)).toEqual([null, null, null, null, null, 'ALTER TABLE items ADD COLUMN extra TEXT', null]);
  });
});
