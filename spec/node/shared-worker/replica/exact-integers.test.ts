/**
 * No silent rounding (exact-integers.ts): an integer value, key or rowid beyond ±(2^53 - 1) is
 * refused where it would enter a synced table; safe integers and REALs of any size round-trip
 * exactly, locally, across a reopen and to a peer.
 */
import { describe, expect, it } from 'vitest';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';

const DDL = 'CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, n INTEGER, r REAL); CREATE TABLE k (id INTEGER PRIMARY KEY NOT NULL, v TEXT)';

async function durable(data = new Map<string, unknown>()): Promise<{ d: DurableReplicaHandle; data: Map<string, unknown> }> {
  const d = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica, warn: () => {} });
  return { d, data };
}

/** Exact text of every stored value, so a rounding shows. */
async function exact(r: { exec(sql: string): unknown }): Promise<unknown> {
  const res = await (r.exec('SELECT id, CAST(n AS TEXT) AS n, typeof(n) AS nt, CAST(r AS TEXT) AS r, r AS rv FROM t ORDER BY id') as Promise<{ rows: Array<Record<string, unknown>> }>);
  const keys = await (r.exec('SELECT CAST(id AS TEXT) AS id, v FROM k ORDER BY id') as Promise<{ rows: unknown[] }>);
  return { t: res.rows, k: keys.rows };
}

describe('integers beyond ±2^53 in synced tables', () => {
  it('are refused with SQL naming table, column and exact value when a double would round them; nothing is stored', async () => {
    const { d } = await durable();
    await d.exec(DDL);
    await d.enableSync('t');
    await d.enableSync('k');
    await d.exec("INSERT INTO t VALUES ('a', 1, NULL)");
    const refused: Array<[string, string, string]> = [
      ["INSERT INTO t VALUES ('b', 9007199254740993, NULL)", 'integer 9007199254740993 in synced table "t" column "n"', 'n'],
      ["INSERT INTO t VALUES ('b', 9007199254740992, NULL)", 'integer 9007199254740992 in synced table "t" column "n"', 'n'],
      ["UPDATE t SET n = 9223372036854775807 WHERE id = 'a'", 'integer 9223372036854775807 in synced table "t" column "n"', 'n'],
      ["UPDATE t SET n = -9007199254740993 WHERE id = 'a'", 'integer -9007199254740993 in synced table "t" column "n"', 'n'],
      ["INSERT INTO t VALUES ('c', 2, NULL); UPDATE t SET n = n * 4503599627370496 + 1 WHERE id = 'c'", 'integer 9007199254740993 in synced table "t" column "n"', 'n'],
      ["INSERT INTO k VALUES (1152921504606846976, 'key')", 'rowid 1152921504606846976 in synced table "k"', 'rowid'],
      ["INSERT INTO k VALUES (7, 'moved'); UPDATE k SET id = -9007199254740992 WHERE id = 7", 'integer -9007199254740992 in synced table "k" column "id"', 'id'],
      ["UPDATE t SET rowid = 9007199254740993 WHERE id = 'a'", 'rowid 9007199254740993 in synced table "t"', 'rowid'],
      ['CREATE TABLE i (id INT PRIMARY KEY NOT NULL, v TEXT)', '', ''],
    ];
    await d.exec(refused.pop()![0]);
    await d.enableSync('i');
    refused.push(["INSERT INTO i VALUES (9007199254740993, 'int key')", 'integer 9007199254740993 in synced table "i" column "id"', 'id']);
    for (const [sql, message] of refused) {
      await expect(d.exec(sql), sql).rejects.toMatchObject({ code: 'SQL', message: expect.stringContaining(`${message} is beyond ±(2^53 - 1)`) });
    }
    expect(await exact(d)).toEqual({ t: [{ id: 'a', n: '1', nt: 'integer', r: null, rv: null }], k: [] });
    expect((await d.exec('SELECT count(*) AS n FROM i')).rows).toEqual([{ n: 0 }]);
    // A table that is not synced keeps whatever SQLite stores.
    await d.exec('CREATE TABLE plain (n INTEGER); INSERT INTO plain VALUES (9007199254740993)');
    await d.close();
  });

  it('enableSync refuses (SCHEMA) a table that already holds one', async () => {
    const r = await createReplica();
    r.exec(DDL);
    r.exec("INSERT INTO t VALUES ('a', 9007199254740993, NULL)");
    expect(() => r.enableSync('t')).toThrow(expect.objectContaining({ code: 'SCHEMA', message: expect.stringContaining('integer 9007199254740993') }));
    expect(r.syncedTables()).toEqual([]);
    r.close();
  });

  it('safe integers at the bounds, and REALs of any size, round-trip exactly: local, reopen, peer', async () => {
    const { d, data } = await durable();
    await d.exec(DDL);
    await d.enableSync('t');
    await d.enableSync('k');
    await d.exec("INSERT INTO t VALUES ('a', 9007199254740991, 1e300), ('b', -9007199254740991, -0.5), ('c', 0, 1152921504606846977), ('d', ?, 9223372036854775807.0)", [Number.MAX_SAFE_INTEGER]);
    await d.exec('INSERT INTO k VALUES (9007199254740991, ?), (-9007199254740991, ?)', ['big key', 'small key']);
    const local = await exact(d);
    expect(local).toEqual({
      t: [
        { id: 'a', n: '9007199254740991', nt: 'integer', r: '1.0e+300', rv: 1e300 },
        { id: 'b', n: '-9007199254740991', nt: 'integer', r: '-0.5', rv: -0.5 },
        { id: 'c', n: '0', nt: 'integer', r: '1.152921504606847e+18', rv: 2 ** 60 },
        { id: 'd', n: '9007199254740991', nt: 'integer', r: '9.2233720368547758e+18', rv: 2 ** 63 },
      ],
      k: [{ id: '-9007199254740991', v: 'small key' }, { id: '9007199254740991', v: 'big key' }],
    });
    await d.close();
    const { d: again } = await durable(data);
    expect(await exact(again)).toEqual(local);
    const peer: Replica = await createReplica();
    peer.exec(DDL);
    peer.enableSync('t');
    peer.enableSync('k');
    peer.applyChanges(again.changesSince({}));
    expect(await exact({ exec: async (sql: string) => peer.exec(sql) })).toEqual(local);
    await again.close();
    peer.close();
  });
});
