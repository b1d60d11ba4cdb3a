/**
 * Rows parked for a table both peers sync, because their definitions differed (the hello excluded
 * it), are merged once a peer changes the table so they fit (docs/schema-evolution.md, "Tables one
 * peer does not sync"): their stamps were counted in the vector when they were parked, so no peer
 * sends them again. Durable replicas migrated with DurableReplica.migrate, joined by the real sync
 * coordinator over in-memory links; the peer that altered crashes right after the step and a peer
 * that only ever meets it gets the rows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { nodeIdOf, roomFor, ticks } from './helpers.js';
import { migratedPeer, type MigratedPeer } from './migrated-peer.js';
import { connect, errorsOf } from './net.js';

const TAGS = 'CREATE TABLE tags (id TEXT PRIMARY KEY NOT NULL, label TEXT)';
const A_STEPS = ['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT, x TEXT)', TAGS];
const B_STEPS = ['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT, x INTEGER)', TAGS];
const B_DROPPED = [...B_STEPS, 'ALTER TABLE notes DROP COLUMN x'];
const C_STEPS = ['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)', TAGS];

let keys: RoomKeys;
let seq = 0;
beforeAll(async () => {
  keys = (await roomFor('parked after alter token')).keys;
});

type Peer = MigratedPeer;

function peer(steps: string[], data = new Map<string, unknown>(), nodeId = nodeIdOf(++seq)): Promise<Peer> {
  return migratedPeer(keys, `p${seq}`, nodeId, steps, data);
}

const NOTES = 'SELECT * FROM notes ORDER BY id';
const rows = async (p: Peer, sql = NOTES) => (await p.replica.exec(sql)).rows;

async function settled(check: () => Promise<boolean> | boolean): Promise<void> {
  for (;;) {
    if (await check()) return;
    await ticks(2);
  }
}

/** `to` counts every write of `from` (held or parked). */
const heard = (to: Peer, from: Peer) => (to.replica.getVector()[from.replica.nodeId] ?? -1) >= from.replica.getVector()[from.replica.nodeId]!;

describe('parked rows of a synced table, merged by an ALTER', () => {
  it('A and B disagree on a column type; B drops the column and holds A\'s rows, also after a crash; C, which only meets B, gets them', async () => {
    const a = await peer(A_STEPS);
    const b = await peer(B_STEPS);
    connect(a, b);
    await a.replica.exec("INSERT INTO notes VALUES ('a1', 'from a', 'text'), ('a2', 'also a', 'more text')");
    await b.replica.exec("INSERT INTO notes VALUES ('b1', 'from b', 7)");
    await a.replica.exec("UPDATE notes SET name = 'from a, edited' WHERE id = 'a1'; INSERT INTO tags VALUES ('t1', 'red')");
    await settled(() => heard(b, a) && heard(a, b));
    await settled(async () => (await rows(b, 'SELECT * FROM tags')).length === 1);
    // The hello excluded notes: A's rows are held by B (its vector counts them) but parked.
    expect(await rows(b)).toEqual([{ id: 'b1', name: 'from b', x: 7 }]);

    await b.replica.migrate(B_DROPPED);
    const crashed = new Map(b.data); // right after the step was acknowledged, nothing flushed
    const held = [{ id: 'a1', name: 'from a, edited' }, { id: 'a2', name: 'also a' }, { id: 'b1', name: 'from b' }];
    expect(await rows(b)).toEqual(held);

    a.sync.close();
    b.sync.close();
    await b.replica.close();
    const b2 = await peer(B_DROPPED, crashed, b.nodeId);
    expect(await rows(b2)).toEqual(held);
    const c = await peer(C_STEPS);
    connect(b2, c);
    await settled(async () => JSON.stringify(await rows(c)) === JSON.stringify(held));
    // The cells of x travel on with their sets (B's too, written before it dropped x): a peer
    // that has x as A declares it shows them, B's 7 as TEXT.
    const d = await peer(A_STEPS);
    connect(c, d);
    await settled(async () => (await rows(d)).length === 3);
    expect(await rows(d)).toEqual([{ id: 'a1', name: 'from a, edited', x: 'text' }, { id: 'a2', name: 'also a', x: 'more text' }, { id: 'b1', name: 'from b', x: '7' }]);
    for (const p of [a, b, b2, c, d]) expect(errorsOf(p).filter((e) => e.code !== 'SCHEMA')).toEqual([]);
  });
});
