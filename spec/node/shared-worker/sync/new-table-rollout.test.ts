/**
 * A NEW synced table rolls out without losing rows (issue 14, docs/schema-evolution.md "Tables one
 * peer does not sync"): a peer still on the app version without the table keeps the rows of it
 * that reach it in others' signed sets (parked), forwards them, and merges them when it upgrades.
 * Durable replicas migrated with DurableReplica.migrate, joined by the real sync coordinator over
 * in-memory links.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { nodeIdOf, roomFor, ticks } from './helpers.js';
import { connect, errorsOf } from './net.js';
import { crash, openPeer, reload, V1, V2, type Peer } from './rollout-peers.js';

let keys: RoomKeys;
let seq = 0;
beforeAll(async () => {
  keys = (await roomFor('new table rollout token')).keys;
});

const peer = (steps: string[]) => openPeer(keys, steps, nodeIdOf(++seq));

const rows = async (p: Peer, sql: string) => (await p.replica.exec(sql)).rows;
const LISTS = 'SELECT * FROM lists ORDER BY id';
const NOTES = 'SELECT * FROM notes ORDER BY id';

async function settled(check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    await ticks(2);
  }
}

async function same(ps: Peer[], sql: string): Promise<void> {
  await settled(async () => {
    const all = await Promise.all(ps.map(async (p) => JSON.stringify(await rows(p, sql))));
    return all.every((d) => d === all[0]);
  });
}

/** A on V2 writes lists rows (an insert, an update, a delete, a second insert) between notes writes. */
async function rollout(a: Peer): Promise<void> {
  await a.replica.exec("INSERT INTO lists VALUES ('l1', 'groceries', 1), ('l2', 'books', 2), ('l3', 'gone', 3)");
  await a.replica.exec("INSERT INTO notes VALUES ('n1', 'x')");
  await a.replica.exec("UPDATE lists SET name = 'food' WHERE id = 'l1'");
  await a.replica.exec("DELETE FROM lists WHERE id = 'l3'");
  await a.replica.exec("INSERT INTO lists VALUES ('l4', 'tools', 4)");
  await a.replica.exec("INSERT INTO notes VALUES ('n2', 'y')");
}

const A_LISTS = [
  { id: 'l1', name: 'food', pos: 1 },
  { id: 'l2', name: 'books', pos: 2 },
  { id: 'l4', name: 'tools', pos: 4 },
];

describe('a new synced table during a rollout', () => {
  it('a v1 peer that heard a v2 peer\'s rows shows them after it upgrades, with the writer gone', async () => {
    const a = await peer(V2);
    const b = await peer(V1);
    connect(a, b);
    await rollout(a);
    await same([a, b], NOTES);
    expect(await rows(a, LISTS)).toEqual(A_LISTS);
    await ticks(20);
    a.sync.close();
    const b2 = await reload(b, V2);
    expect(await rows(b2, LISTS)).toEqual(A_LISTS);
    expect(await rows(b2, NOTES)).toEqual([{ id: 'n1', body: 'x' }, { id: 'n2', body: 'y' }]);
    // Newer writes win over the merged rows as everywhere (last writer wins), and reach A.
    await b2.replica.exec("UPDATE lists SET pos = 9 WHERE id = 'l2'");
    const a2 = await reload(a, V2);
    connect(a2, b2);
    await same([a2, b2], LISTS);
    expect(await rows(a2, "SELECT pos FROM lists WHERE id = 'l2'")).toEqual([{ pos: 9 }]);
    for (const p of [a, b, a2, b2]) expect(errorsOf(p).filter((e) => e.code !== 'SCHEMA')).toEqual([]);
  });

  it('a v2 peer that only ever meets a v1 peer gets the rows through it (delta), also after the v1 peer crashed', async () => {
    const a = await peer(V2);
    const b = await peer(V1);
    connect(a, b);
    await rollout(a);
    await same([a, b], NOTES);
    await ticks(20);
    a.sync.close();
    // B crashes and comes back (still v1): what it kept survives.
    const b2 = await crash(b, V1);
    const c = await peer(V2);
    connect(b2, c);
    await settled(async () => JSON.stringify(await rows(c, LISTS)) === JSON.stringify(A_LISTS));
    expect(await rows(c, NOTES)).toEqual([{ id: 'n1', body: 'x' }, { id: 'n2', body: 'y' }]);
    // B upgrades after all that: the rows are there too.
    const b3 = await reload(b2, V2);
    expect(await rows(b3, LISTS)).toEqual(A_LISTS);
  });

  it('live: a v1 peer in the middle of A-B-C relays the new table\'s rows as they are written', async () => {
    const a = await peer(V2);
    const b = await peer(V1);
    const c = await peer(V2);
    connect(a, b);
    connect(b, c);
    await same([a, b, c], NOTES);
    await rollout(a);
    await settled(async () => JSON.stringify(await rows(c, LISTS)) === JSON.stringify(A_LISTS));
    // C's own writes to the table reach A through B as well.
    await c.replica.exec("INSERT INTO lists VALUES ('l5', 'from c', 5)");
    await same([a, c], LISTS);
    expect(await rows(b, NOTES)).toEqual([{ id: 'n1', body: 'x' }, { id: 'n2', body: 'y' }]);
    const b2 = await reload(b, V2);
    expect(await rows(b2, LISTS)).toEqual(await rows(a, LISTS));
  });
});
