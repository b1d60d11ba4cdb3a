/**
 * Updates wait in the update log until something reads registers of live rows (capture-fold.ts).
 * Meanwhile each exec's commit, value cap check and "did anything change" must still see exactly
 * that exec's registers, whatever earlier execs left in the log.
 */
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { MAX_VALUE_BYTES } from '../../../../shared-worker/protocol/limits.js';
import { dump, registers, syncedReplica } from './replica-helpers.js';

const SEED = "INSERT INTO items VALUES ('a', 'A', 1, 'na'), ('b', 'B', 2, 'nb'), ('c', 'C', 3, 'nc')";

/** Execs run one after another with no fold in between (no merge, delta or export). */
const EXECS = [
  "UPDATE items SET qty = 10 WHERE id = 'a'",
  "UPDATE items SET note = 'n2' WHERE id = 'a'",
  "UPDATE items SET title = 'B2' WHERE id = 'b'; UPDATE items SET qty = 11 WHERE id = 'a'",
  "UPDATE items SET qty = qty WHERE id = 'c'",
  "UPDATE items SET note = 'nb3' WHERE id = 'b'; DELETE FROM items WHERE id = 'c'; UPDATE items SET title = 'A4' WHERE id = 'a'",
  "UPDATE items SET qty = 12 WHERE id = 'a'; INSERT INTO items VALUES ('d', 'D', 4, NULL); UPDATE items SET note = 'nd' WHERE id = 'd'",
  "UPDATE items SET title = 'B6' WHERE id = 'b'",
];

describe('the update log', () => {
  it('each commit carries exactly its own registers while earlier updates wait in the log', async () => {
    const { r: a, clock } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec(SEED);
    const pre = a.export();
    const commits: Commit[] = [];
    a.onCommit((c) => commits.push(c));
    for (const sql of EXECS) {
      clock.t += 1000;
      a.exec(sql);
    }
    // The no-op update records nothing.
    expect(commits).toHaveLength(EXECS.length - 1);
    for (const c of commits) {
      const hlcs = new Set(c.changes!.tables.flatMap((t) => t.rows.flatMap((r) => [r.put?.[0], r.del?.[0], ...r.cells.map((x) => x[2])])).filter((h) => h !== undefined));
      expect(hlcs.size).toBe(1); // one exec, one stamp: nothing of an earlier exec leaks in
      const keys = c.changes!.tables.flatMap((t) => t.rows.map((r) => JSON.stringify([t.table, r.pk])));
      expect(new Set(keys).size).toBe(keys.length); // one row per key, all its registers together
    }
    // The second exec changed one cell of one row.
    expect(commits[1]!.changes!.tables[0]!.rows).toEqual([{ pk: ['a'], put: expect.any(Array), del: null, cells: [[2, 'n2', expect.any(Number), 0]] }]);

    const b = await createReplica({ data: pre });
    for (const c of commits) b.applyChanges(c.changes!, { trusted: true });
    expect(dump(b, ['items'])).toBe(dump(a, ['items']));
    expect(registers(b)).toBe(registers(a));

    const { r: peer } = await syncedReplica('cccccccccccccccc');
    peer.applyChanges(a.changesSince({}));
    expect(dump(peer, ['items'])).toBe(dump(a, ['items']));
    expect(registers(peer)).toBe(registers(a));
  });

  for (const listening of [false, true]) {
    it(`refuses an over-cap update behind pending updates, and keeps the pending ones (${listening ? 'with' : 'without'} a listener)`, async () => {
      const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
      if (listening) a.onCommit(() => {});
      a.exec(SEED);
      a.exec("UPDATE items SET title = 'A1' WHERE id = 'a'");
      a.exec("UPDATE items SET note = 'b1' WHERE id = 'b'");
      expect(() => a.exec("UPDATE items SET qty = 5 WHERE id = 'c'; UPDATE items SET note = ? WHERE id = 'a'", ['x'.repeat(MAX_VALUE_BYTES + 1)])).toThrow(
        expect.objectContaining({ code: 'SQL', detail: expect.objectContaining({ column: 'note' }) }),
      );
      a.exec("UPDATE items SET qty = 6 WHERE id = 'c'");
      expect(a.exec('SELECT id, title, qty, note FROM items ORDER BY id').rows).toEqual([
        { id: 'a', title: 'A1', qty: 1, note: 'na' },
        { id: 'b', title: 'B', qty: 2, note: 'b1' },
        { id: 'c', title: 'C', qty: 6, note: 'nc' },
      ]);
      const { r: peer } = await syncedReplica('cccccccccccccccc');
      peer.applyChanges(a.changesSince({}));
      expect(registers(peer)).toBe(registers(a));
    });
  }

  it('a merge after pending local updates keeps per-cell last-writer-wins', async () => {
    const { r: a, clock: ca } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const { r: b, clock: cb } = await syncedReplica('bbbbbbbbbbbbbbbb');
    a.exec(SEED);
    b.applyChanges(a.changesSince({}));
    ca.t += 1000;
    a.exec("UPDATE items SET title = 'older' WHERE id = 'a'");
    cb.t += 2000;
    b.exec("UPDATE items SET title = 'newer' WHERE id = 'a'");
    ca.t += 2000;
    a.exec("UPDATE items SET qty = 99 WHERE id = 'a'"); // newest, pending in a's log
    a.applyChanges(b.changesSince(a.getVector()));
    b.applyChanges(a.changesSince(b.getVector()));
    expect(a.exec("SELECT title, qty FROM items WHERE id = 'a'").rows).toEqual([{ title: 'newer', qty: 99 }]);
    expect(dump(b)).toBe(dump(a));
    expect(registers(b)).toBe(registers(a));
  });
});
