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
});
