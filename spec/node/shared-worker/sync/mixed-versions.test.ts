/**
 * Peers on different app versions keep syncing (issue 14, README "Mixed versions keep syncing"),
 * end to end: durable replicas migrated with DurableReplica.migrate (what connectBattery's
 * `migrations` runs), joined by the real sync coordinator over in-memory links.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { migratedPeer, type MigratedPeer } from './migrated-peer.js';
import { connect, errorsOf } from './net.js';

const V1 = [
  'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, content TEXT)',
  'CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)',
];
const V2 = [...V1, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'];
const V3 = [...V2, 'ALTER TABLE notes DROP COLUMN content'];

let keys: RoomKeys;
let seq = 0;
beforeAll(async () => {
  keys = (await roomFor('mixed versions token')).keys;
});

type Peer = MigratedPeer;

function peer(steps: string[], data = new Map<string, unknown>(), nodeId = nodeIdOf(++seq)): Promise<Peer> {
  return migratedPeer(keys, `p${seq}`, nodeId, steps, data);
}

/** The same browser after a reload: its storage reopened, with the app's (possibly newer) list. */
async function reload(p: Peer, steps: string[]): Promise<Peer> {
  p.sync.close();
  await p.replica.close();
  return peer(steps, p.data, p.nodeId);
}

const rows = async (p: Peer, sql = 'SELECT * FROM notes ORDER BY id') => (await p.replica.exec(sql)).rows;

async function settled(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; ; i++) {
    if (await check()) return;
    await ticks(2);
  }
}

async function sameNotes(ps: Peer[], sql = 'SELECT * FROM notes ORDER BY id'): Promise<void> {
  await settled(async () => {
    const all = await Promise.all(ps.map(async (p) => JSON.stringify(await rows(p, sql))));
    return all.every((d) => d === all[0]);
  });
}

describe('mixed versions', () => {
  it('A on v2, B on v1: both edit; B reloads with v2 and sees A\'s values; B\'s edits are on A (and a v1 insert reads the DEFAULT)', async () => {
    const a = await peer(V2);
    const b = await peer(V1);
    connect(a, b);
    await a.replica.exec("INSERT INTO notes VALUES ('a1', 'from a', 1)");
    await b.replica.exec("INSERT INTO notes VALUES ('b1', 'from b')");
    await settled(async () => (await rows(a)).length === 2 && (await rows(b)).length === 2);
    expect(await rows(a)).toEqual([{ id: 'a1', content: 'from a', pinned: 1 }, { id: 'b1', content: 'from b', pinned: 0 }]);
    await a.replica.exec("UPDATE notes SET pinned = 2 WHERE id = 'b1'");
    await b.replica.exec("UPDATE notes SET content = 'edited by b' WHERE id = 'a1'");
    await settled(async () => JSON.stringify(await rows(a)).includes('edited by b'));
    expect(await rows(a)).toEqual([{ id: 'a1', content: 'edited by b', pinned: 1 }, { id: 'b1', content: 'from b', pinned: 2 }]);
    expect(await rows(b)).toEqual([{ id: 'a1', content: 'edited by b' }, { id: 'b1', content: 'from b' }]);
    await ticks(20);
    const b2 = await reload(b, V2);
    expect(b2.replica.getSchemaVersion()).toBe(3);
    expect(await rows(b2)).toEqual([{ id: 'a1', content: 'edited by b', pinned: 1 }, { id: 'b1', content: 'from b', pinned: 2 }]);
    expect(errorsOf(a)).toEqual([]);
  });

  it('a v1 peer relays a v2 column\'s cells between two v2 peers that never meet; they appear when it adds the column', async () => {
    const a = await peer(V2);
    const b = await peer(V1);
    const c = await peer(V2);
    connect(a, b);
    connect(b, c);
    await a.replica.exec("INSERT INTO notes VALUES ('n1', 'x', 5)");
    await settled(async () => (await rows(c)).length === 1);
    await a.replica.exec("UPDATE notes SET pinned = 6 WHERE id = 'n1'");
    await settled(async () => (await rows(c, 'SELECT pinned FROM notes'))[0]?.pinned === 6);
    await c.replica.exec("INSERT INTO notes VALUES ('n2', 'y', 7)");
    await sameNotes([a, c]);
    expect(await rows(a)).toEqual([{ id: 'n1', content: 'x', pinned: 6 }, { id: 'n2', content: 'y', pinned: 7 }]);
    expect(await rows(b)).toEqual([{ id: 'n1', content: 'x' }, { id: 'n2', content: 'y' }]);
    // b adds the column while its links are up.
    await b.replica.migrate(V2);
    expect(await rows(b)).toEqual([{ id: 'n1', content: 'x', pinned: 6 }, { id: 'n2', content: 'y', pinned: 7 }]);
    await b.replica.exec("UPDATE notes SET pinned = 8 WHERE id = 'n2'");
    await sameNotes([a, b, c]);
    expect(await rows(a, "SELECT pinned FROM notes WHERE id = 'n2'")).toEqual([{ pinned: 8 }]);
    for (const p of [a, b, c]) expect(errorsOf(p)).toEqual([]);
  });

  it('a peer that migrates while connected sends the new column live; a peer that dropped a column still forwards it', async () => {
    const a = await peer(V1);
    const b = await peer(V1);
    const c = await peer(V2);
    connect(a, b);
    await a.replica.exec("INSERT INTO notes VALUES ('n1', 'x')");
    await sameNotes([a, b]);
    await a.replica.migrate(V3); // ADD pinned, DROP content
    await a.replica.exec("UPDATE notes SET pinned = 1 WHERE id = 'n1'");
    await b.replica.exec("UPDATE notes SET content = 'from b' WHERE id = 'n1'");
    await ticks(40);
    expect(await rows(a)).toEqual([{ id: 'n1', pinned: 1 }]);
    expect(await rows(b)).toEqual([{ id: 'n1', content: 'from b' }]);
    // c (v2: content and pinned) hears only a: b's content arrives through a, which dropped it.
    connect(a, c);
    await settled(async () => JSON.stringify(await rows(c)) === JSON.stringify([{ id: 'n1', content: 'from b', pinned: 1 }]));
    await b.replica.migrate(V3);
    await sameNotes([a, b]);
    expect(await rows(b)).toEqual([{ id: 'n1', pinned: 1 }]);
    for (const p of [a, b, c]) expect(errorsOf(p)).toEqual([]);
  });

  it('a table whose key or a shared column\'s type differs is refused per table (SCHEMA); the other table syncs', async () => {
    const a = await peer(V1);
    const odd = new Map<string, unknown>();
    const b = await peer(['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, content TEXT)', 'CREATE TABLE tags (id TEXT PRIMARY KEY NOT NULL, label TEXT)'], odd);
    const c = await peer(['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, content INTEGER)', 'CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)']);
    connect(a, b);
    connect(a, c);
    await a.replica.exec("INSERT INTO notes VALUES ('n1', 'x'); INSERT INTO tags VALUES (1, 'red')");
    await until(() => errorsOf(a, 'SCHEMA').length >= 2 && errorsOf(b, 'SCHEMA').length >= 1 && errorsOf(c, 'SCHEMA').length >= 1);
    await settled(async () => (await rows(b)).length === 1 && (await rows(c, 'SELECT * FROM tags')).length === 1);
    expect(errorsOf(b, 'SCHEMA')[0]).toMatchObject({ detail: { tables: ['tags'] } });
    expect(errorsOf(c, 'SCHEMA')[0]).toMatchObject({ detail: { tables: ['notes'] } });
    expect(await rows(b, 'SELECT * FROM tags')).toEqual([]);
    expect(await rows(c)).toEqual([]);
  });

  it('a table created and enabled while peers are connected syncs with them from the next connection; a column added to it later too', async () => {
    const a = await peer(V1);
    const b = await peer(V1);
    const first = connect(a, b);
    await a.replica.exec("INSERT INTO notes VALUES ('n1', 'x')");
    await sameNotes([a, b]);
    const v2 = [...V1, 'CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT)'];
    for (const p of [a, b]) {
      await p.replica.migrate(v2);
      await p.replica.enableSync('lists');
    }
    await a.replica.exec("INSERT INTO lists VALUES ('l1', 'groceries')");
    // Peers compare their synced tables when a connection starts (README "Mixed versions").
    first.close();
    connect(a, b);
    await settled(async () => (await rows(b, 'SELECT * FROM lists')).length === 1);
    await a.replica.migrate([...v2, "ALTER TABLE lists ADD COLUMN color TEXT DEFAULT 'blue'"]);
    await a.replica.exec("UPDATE lists SET color = 'green' WHERE id = 'l1'");
    await ticks(40);
    await b.replica.migrate([...v2, "ALTER TABLE lists ADD COLUMN color TEXT DEFAULT 'blue'"]);
    await settled(async () => (await rows(b, 'SELECT * FROM lists'))[0]?.color === 'green');
    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(b)).toEqual([]);
  });

  it('a step that seeds rows of a synced table meets the rows a peer already sent: plain INSERT fails the step, INSERT OR IGNORE applies', async () => {
    const seed = "INSERT INTO notes VALUES ('welcome', 'hello')";
    const a = await peer([...V1, seed]);
    const b = await peer(V1);
    connect(a, b);
    await sameNotes([a, b]);
    await expect(b.replica.migrate([...V1, seed])).rejects.toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/migration 2 \(step 3\).*UNIQUE/) });
    expect(b.replica.getSchemaVersion()).toBe(2);
    await b.replica.migrate([...V1, "INSERT OR IGNORE INTO notes VALUES ('welcome', 'hello')"]);
    expect(b.replica.getSchemaVersion()).toBe(3);
    expect(await rows(b)).toEqual([{ id: 'welcome', content: 'hello' }]);
  });
});
