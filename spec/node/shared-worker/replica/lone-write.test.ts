import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';

// A lone row write runs on a statement kept prepared per SQL text (runUserSql): each call must
// still see only its own parameters, capture like a fresh statement, and recover from errors.
describe('lone row write on a cached statement', () => {
  it('binds each call afresh: a later call without parameters binds NULL, not the last values', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    r.enableSync('t');
    const commits: Commit[] = [];
    r.onCommit((c) => commits.push(c));
    r.exec('INSERT INTO t VALUES (?, ?)', [1, 'a']);
    r.exec('INSERT INTO t VALUES (?, ?)', [2, 'b']);
    r.exec('INSERT INTO t VALUES (?, ?)'); // id NULL = next rowid, v NULL
    r.exec('INSERT INTO t VALUES (:id, :v)', { ':id': 9, ':v': 'named' });
    expect(r.exec('SELECT id, v FROM t ORDER BY id').rows).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'b' }, { id: 3, v: null }, { id: 9, v: 'named' }]);
    expect(commits.map((c) => c.changes?.tables[0]?.rows.map((row) => row.pk))).toEqual([[[1]], [[2]], [[3]], [[9]]]);
  });

  it('returns RETURNING rows and the columns of a write that returned none', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    r.enableSync('t');
    for (const id of [1, 2]) expect(r.exec('INSERT INTO t VALUES (?, ?) RETURNING id, v', [id, 'x'])).toEqual({ columns: ['id', 'v'], rows: [{ id, v: 'x' }] });
    expect(r.exec('DELETE FROM t WHERE id = ? RETURNING id', [7])).toEqual({ columns: ['id'], rows: [] });
  });

  it('after a failed call (constraint, policy) the same text runs again, and DDL in between is seen', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT NOT NULL)');
    r.enableSync('t');
    const insert = 'INSERT INTO t VALUES (?, ?)';
    r.exec(insert, [1, 'a']);
    expect(() => r.exec(insert, [1, 'dup'])).toThrow(expect.objectContaining({ code: 'SQL' }));
    expect(() => r.exec(insert, [2, null])).toThrow(expect.objectContaining({ code: 'SQL' }));
    r.exec(insert, [2, 'b']);
    expect(() => r.execLocal(insert, [3, 'c'])).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(() => r.exec('DELETE FROM _rb_meta')).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(() => r.exec('DELETE FROM _rb_meta')).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    r.exec('CREATE TABLE u(x)');
    r.exec('INSERT INTO u VALUES (?)', [1]);
    r.exec('DROP TABLE u');
    r.exec('CREATE TABLE u(x, y DEFAULT 5)');
    r.exec('INSERT INTO u VALUES (?)'.replace('?)', '?, 6)'), [1]);
    expect(() => r.exec('INSERT INTO u VALUES (?)', [2])).toThrow(expect.objectContaining({ code: 'SQL' })); // 1 value for 2 columns
    expect(r.exec('SELECT id, v FROM t ORDER BY id').rows).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
    const delta = r.changesSince({});
    expect(delta.tables[0]!.rows.map((row) => row.pk)).toEqual([[1], [2]]);
  });
});
