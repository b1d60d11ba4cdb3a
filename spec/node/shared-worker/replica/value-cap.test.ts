/**
 * One value cap for synced tables (protocol/limits.ts): a local exec refuses (SQL, atomically) any
 * write that would store a bigger value in a synced table, so every value a replica holds there
 * can be applied by its peers. Before, exec had no cap while peers refused values over 1 MiB with
 * BAD_OP: one 2 MiB insert stalled every other peer's sync for good.
 */
import { describe, expect, it } from 'vitest';
import { MAX_VALUE_BYTES } from '../../../../shared-worker/protocol/limits.js';
import { PEER_LIMITS } from '../../../../shared-worker/sync/peer-protocol.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { dump, syncedReplica } from './replica-helpers.js';

const DDL = 'CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, data BLOB); CREATE TABLE local(k, v)';

async function make(listening: boolean): Promise<Replica> {
  const { r } = await syncedReplica('a000000000000001', DDL, 'items');
  // With a listener (as under the durable layer) the check reads the commit's changes in JS;
  // without one, it queries the rows the commit stamped. Both must refuse the same writes.
  if (listening) r.onCommit(() => {});
  return r;
}

function state(r: Replica) {
  return { rows: dump(r, ['items']), vector: r.getVector(), version: r.getVersion(), changes: r.changesSince({}) };
}

const over = MAX_VALUE_BYTES + 1;
/** Each write stores one value of `over` bytes in the synced table (after a small write in the same exec). */
const refused: Array<[string, string, unknown[]]> = [
  ['ASCII text', "INSERT INTO items VALUES ('small', 's', NULL); INSERT INTO items VALUES ('big', ?, NULL)", ['x'.repeat(over)]],
  // Fewer UTF-16 units than the cap, more UTF-8 bytes (what SQLite stores and peers measure).
  ['multi-byte text', "INSERT INTO items VALUES ('small', 's', NULL); INSERT INTO items VALUES ('big', ?, NULL)", ['é'.repeat(Math.ceil(over / 2))]],
  ['a blob parameter', "INSERT INTO items VALUES ('small', 's', NULL); INSERT INTO items VALUES ('big', NULL, ?)", [new Uint8Array(over)]],
  ['a blob made in SQL', "INSERT INTO items VALUES ('small', 's', NULL); INSERT INTO items VALUES ('big', NULL, zeroblob(?))", [over]],
  ['text built in SQL', "INSERT INTO items VALUES ('small', 's', NULL); INSERT INTO items VALUES ('big', printf('%.*c', ?, 'x'), NULL)", [over]],
  ['an update', "INSERT INTO items VALUES ('small', 's', NULL); UPDATE items SET title = ? WHERE id = 'kept'", ['y'.repeat(over)]],
  ['a key', "INSERT INTO items VALUES ('small', 's', NULL); INSERT INTO items VALUES (?, 't', NULL)", ['k'.repeat(over)]],
  // Inserted and deleted in one exec: the tombstone keeps the value, and deltas carry it.
  ['a value only a tombstone keeps', "INSERT INTO items VALUES ('big', ?, NULL); DELETE FROM items WHERE id = 'big'", ['z'.repeat(over)]],
];

describe('the value cap on synced tables', () => {
  for (const listening of [true, false]) {
    describe(listening ? 'with a commit listener' : 'without listeners', () => {
      it.each(refused)('refuses %s over the cap with SQL and changes nothing', async (_what, sql, params) => {
        const r = await make(listening);
        r.exec("INSERT INTO items VALUES ('kept', 'k', NULL)");
        const before = state(r);
        let error: unknown;
        try {
          r.exec(sql, params as never);
        } catch (e) {
          error = e;
        }
        expect(error).toMatchObject({ code: 'SQL', detail: { table: 'items', limit: MAX_VALUE_BYTES } });
        expect((error as Error).message).toMatch(/value too large for synced table "items"/);
        expect(state(r)).toEqual(before);
        // The replica stays usable.
        r.exec("INSERT INTO items VALUES ('after', 'a', NULL)");
        expect(r.exec("SELECT id FROM items WHERE id = 'after'").rows).toHaveLength(1);
      });

      it('accepts values of exactly the cap, and a peer accepts them too', async () => {
        const r = await make(listening);
        const text = 'é'.repeat(MAX_VALUE_BYTES / 2); // exactly MAX_VALUE_BYTES bytes of UTF-8
        r.exec('INSERT INTO items VALUES (?, ?, ?)', ['max', text, new Uint8Array(MAX_VALUE_BYTES)]);
        const { r: peer } = await syncedReplica('b000000000000002', DDL, 'items');
        peer.applyChanges(r.changesSince({}));
        expect(dump(peer, ['items'])).toBe(dump(r, ['items']));
      });

      it('does not cap tables that are not synced', async () => {
        const r = await make(listening);
        r.exec('INSERT INTO local VALUES (1, ?)', [new Uint8Array(2 * MAX_VALUE_BYTES)]);
        expect(r.exec('SELECT length(v) AS n FROM local').rows).toEqual([{ n: 2 * MAX_VALUE_BYTES }]);
      });
    });
  }

  it('enableSync refuses (SCHEMA) a table already holding a value over the cap, and changes nothing', async () => {
    const { r } = await syncedReplica('a000000000000001', DDL, 'items');
    r.exec('CREATE TABLE later(id TEXT PRIMARY KEY NOT NULL, v)');
    r.exec("INSERT INTO later VALUES ('a', 1), ('big', zeroblob(?))", [over]);
    const vector = r.getVector();
    expect(() => r.enableSync('later')).toThrow(expect.objectContaining({ code: 'SCHEMA', detail: expect.objectContaining({ table: 'later', column: 'v' }) }));
    expect(r.syncedTables()).toEqual(['items']);
    expect(r.getVector()).toEqual(vector);
    r.exec("DELETE FROM later WHERE id = 'big'");
    r.enableSync('later');
    expect(r.syncedTables()).toEqual(['items', 'later']);
  });

  it('is the one cap the peer protocol bounds values with', () => {
    expect(PEER_LIMITS.maxValueBytes).toBe(MAX_VALUE_BYTES);
  });
});
