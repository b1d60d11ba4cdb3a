import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';

// A lone SELECT runs on a cached prepared statement outside the write path (runLoneSelect):
// everything else must still take the write path, and reads must see every committed change.
describe('lone SELECT fast path', () => {
  it('reads the latest state through the cached statement, across writes, DDL and export()', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    r.enableSync('t');
    const read = () => r.exec('SELECT v FROM t WHERE id = ?', [1]).rows;
    expect(read()).toEqual([]);
    r.exec('INSERT INTO t VALUES (1, ?)', ['a']);
    expect(read()).toEqual([{ v: 'a' }]);
    r.export();
    r.exec('UPDATE t SET v = ? WHERE id = 1', ['b']);
    expect(read()).toEqual([{ v: 'b' }]);
    r.exec('CREATE TABLE u(x)');
    expect(read()).toEqual([{ v: 'b' }]);
    expect(r.execLocal('SELECT v FROM t WHERE id = ?', [1]).rows).toEqual([{ v: 'b' }]);
  });

  it('leaves anything but one SELECT to the write path', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    r.enableSync('t');
    const commits: Commit[] = [];
    r.onCommit((c) => commits.push(c));
    // Same text twice: the cached "not a lone SELECT" answer must not skip the second write.
    for (const id of [1, 2]) {
      expect(r.exec('SELECT 1 AS one; INSERT INTO t VALUES (?, ?)', [id, 'x']).rows).toEqual([{ one: 1 }]);
    }
    expect(r.exec('WITH n(i) AS (SELECT 3) INSERT INTO t SELECT i, ? FROM n', ['w'])).toEqual({ columns: [], rows: [] });
    expect(commits.map((c) => c.tables)).toEqual([['t'], ['t'], ['t']]);
    expect(r.exec('SELECT count(*) AS n FROM t').rows).toEqual([{ n: 3 }]);
    expect(commits).toHaveLength(3); // reads commit nothing
  });

  it('keeps the policy, error codes and parameter rules of exec', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    expect(() => r.exec('SELECT * FROM _rb_meta')).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(() => r.exec('SELECT * FROM missing')).toThrow(expect.objectContaining({ code: 'SQL' }));
    expect(() => r.exec('SELECT 1 AS one', [2])).not.toThrow(); // array params bind only where markers are
    expect(r.exec('SELECT 1 AS one', [2]).rows).toEqual([{ one: 1 }]);
    expect(r.exec('SELECT :a AS a', { ':a': 5 }).rows).toEqual([{ a: 5 }]);
    for (let i = 0; i < 200; i++) expect(r.exec(`SELECT ${i} AS i`).rows).toEqual([{ i }]); // past the cache bound
  });
});
