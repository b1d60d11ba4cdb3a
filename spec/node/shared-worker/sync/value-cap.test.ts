/**
 * The value cap end to end: a value over the cap never enters a synced table, so it can never
 * stall a peer; values up to the cap (measured in UTF-8 bytes, as every layer measures them) go
 * through the whole sync path: wire form, peer protocol, remote validation, merge. Before one cap
 * was shared, exec stored a 2 MiB value and every peer refused that delta piece (BAD_OP) forever.
 */
import { describe, expect, it } from 'vitest';
import { MAX_VALUE_BYTES } from '../../../../shared-worker/protocol/limits.js';
import { durableKit } from './durable-kit.js';
import { connect, errorsOf, makeNode } from './net.js';
import { nodeIdOf, roomFor, until } from './helpers.js';

describe('value cap across peers', () => {
  it('refuses an over-cap value locally; values at the cap reach the peer with no error on either side', async () => {
    const room = await roomFor('value-cap');
    const a = await durableKit.create(nodeIdOf(1), { t: ['v'] });
    const b = await durableKit.create(nodeIdOf(2), { t: ['v'] });
    await expect(a.replica.exec("INSERT INTO t VALUES ('big', ?)", ['x'.repeat(2 * MAX_VALUE_BYTES)])).rejects.toMatchObject({ code: 'SQL' });
    const atCap = 'é'.repeat(MAX_VALUE_BYTES / 2); // MAX_VALUE_BYTES bytes of UTF-8
    await a.replica.exec("INSERT INTO t VALUES ('max', ?)", [atCap]);
    await a.replica.exec("INSERT INTO t VALUES ('blob', ?)", [new Uint8Array(MAX_VALUE_BYTES)]);
    await a.replica.exec("INSERT INTO t VALUES ('small', 'later')");
    const A = makeNode('A', a.replica, room.keys);
    const B = makeNode('B', b.replica, room.keys);
    connect(A, B);
    await until(() => JSON.stringify(b.replica.getVector()) === JSON.stringify(a.replica.getVector()));
    const rows = (await b.replica.exec('SELECT id, length(CAST(v AS BLOB)) AS n FROM t ORDER BY id')).rows;
    expect(rows).toEqual([{ id: 'blob', n: MAX_VALUE_BYTES }, { id: 'max', n: MAX_VALUE_BYTES }, { id: 'small', n: 5 }]);
    expect(errorsOf(A)).toEqual([]);
    expect(errorsOf(B)).toEqual([]);
    A.sync.removeAll();
    B.sync.removeAll();
    await a.replica.close();
    await b.replica.close();
  });
});
