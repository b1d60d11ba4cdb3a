/**
 * Outside-tester acceptance of issue 14 end to end (durable peers migrated with
 * DurableReplica.migrate, real sync coordinator, in-memory links): table definitions that differ
 * in ways SQLite does not count as a difference.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { nodeIdOf, roomFor, ticks } from './helpers.js';
import { migratedPeer, type MigratedPeer } from './migrated-peer.js';
import { connect, errorsOf } from './net.js';
import { compareSchemas } from '../../../../shared-worker/sync/compare-schemas.js';
import { describeSchema, schemasCompatible } from '../../../../shared-worker/replica/contracts/schema-descriptor.js';

let keys: RoomKeys;
let seq = 700;
beforeAll(async () => {
  keys = (await roomFor('schema acceptance')).keys;
});

const peer = (steps: string[]) => migratedPeer(keys, `p${++seq}`, nodeIdOf(seq), steps);
const rows = async (p: MigratedPeer, sql: string) => JSON.stringify((await p.replica.exec(sql)).rows);

/** Waits, by scheduler turns (not time), until every peer reads the same; then asserts it. */
async function same(ps: MigratedPeer[], sql: string): Promise<void> {
  for (let turns = 0; turns < 2_000; turns++) {
    const all = await Promise.all(ps.map((p) => rows(p, sql)));
    if (all.every((r) => r === all[0])) break;
    await ticks(1);
  }
  const all = await Promise.all(ps.map((p) => rows(p, sql)));
  expect(all).toEqual(Array(ps.length).fill(all[0]));
}

describe('definitions SQLite does not tell apart', () => {
  it('a table named in another ASCII case on each side ("Notes" / "notes", as an exec-made table and a migration step may name it) syncs, and a column one side adds arrives', async () => {
    const a = await peer(['CREATE TABLE Notes (id TEXT PRIMARY KEY NOT NULL, content TEXT); CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)']);
    const b = await peer([
      'CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY NOT NULL, content TEXT); CREATE TABLE IF NOT EXISTS TAGS (id INTEGER PRIMARY KEY, label TEXT)',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
    ]);
    connect(a, b);
    await a.replica.exec("INSERT INTO notes VALUES ('a1', 'x'); INSERT INTO tags VALUES (1, 'r')");
    await b.replica.exec("INSERT INTO notes VALUES ('b1', 'y', 1); INSERT INTO tags VALUES (2, 's')");
    await same([a, b], 'SELECT id, content FROM notes ORDER BY id');
    await same([a, b], 'SELECT * FROM tags ORDER BY id');
    expect(await rows(a, 'SELECT id FROM notes ORDER BY id')).toBe(JSON.stringify([{ id: 'a1' }, { id: 'b1' }]));
    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(b)).toEqual([]);
    // A adds the column B has: B's pin appears (A kept the cell).
    await a.replica.exec('ALTER TABLE Notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    expect(await rows(a, 'SELECT id, pinned FROM notes ORDER BY id')).toBe(JSON.stringify([{ id: 'a1', pinned: 0 }, { id: 'b1', pinned: 1 }]));
    a.sync.close();
    b.sync.close();
  });
});

describe('declared types compared case and spacing aside', () => {
  it('a table declared with the same types spelled with other spacing ("DECIMAL(10,2)" / "decimal( 10, 2 )", "VARCHAR (20)" / "VARCHAR(20)") syncs', async () => {
    const a = await peer(['CREATE TABLE notes (id VARCHAR(20) PRIMARY KEY NOT NULL, price DECIMAL(10,2), body VARCHAR (20)); CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)']);
    const b = await peer(['CREATE TABLE IF NOT EXISTS notes (id varchar (20) PRIMARY KEY NOT NULL, price decimal( 10, 2 ), body VARCHAR(20)); CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, label TEXT)']);
    connect(a, b);
    await a.replica.exec("INSERT INTO notes VALUES ('a1', 1.5, 'x')");
    await b.replica.exec("INSERT INTO notes VALUES ('b1', 2.25, 'y')");
    await same([a, b], 'SELECT * FROM notes ORDER BY id');
    expect(await rows(a, 'SELECT id FROM notes ORDER BY id')).toBe(JSON.stringify([{ id: 'a1' }, { id: 'b1' }]));
    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(b)).toEqual([]);
    a.sync.close();
    b.sync.close();
  });

  it('columns declared in another order (and quoted or not) on each side sync by name', async () => {
    const a = await peer(['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT, title TEXT, n INTEGER); CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)']);
    const b = await peer(['CREATE TABLE IF NOT EXISTS "notes" ("n" INTEGER, [title] TEXT, id TEXT NOT NULL, `body` TEXT, PRIMARY KEY (id)); CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, label TEXT)']);
    connect(a, b);
    await a.replica.exec("INSERT INTO notes (id, body, title, n) VALUES ('a1', 'ab', 'at', 1)");
    await b.replica.exec("INSERT INTO notes (id, body, title, n) VALUES ('b1', 'bb', 'bt', 2)");
    await same([a, b], 'SELECT id, body, title, n FROM notes ORDER BY id');
    expect(await rows(b, 'SELECT id, body, title, n FROM notes ORDER BY id')).toBe(JSON.stringify([{ id: 'a1', body: 'ab', title: 'at', n: 1 }, { id: 'b1', body: 'bb', title: 'bt', n: 2 }]));
    expect(errorsOf(a)).toEqual([]);
    a.sync.close();
    b.sync.close();
  });

  it('schemasCompatible: spacing inside a type does not count, other types still do', () => {
    const of = (type: string) => describeSchema([{ name: 'id', type: 'TEXT', notNull: true }], [{ name: 'c', type, notNull: false }]);
    expect(schemasCompatible(of('VARCHAR(10)'), of('varchar ( 10 )'))).toBe(true);
    expect(schemasCompatible(of('DECIMAL(10,2)'), of('DECIMAL(10, 2)'))).toBe(true);
    expect(schemasCompatible(of('VARCHAR(10)'), of('VARCHAR(20)'))).toBe(false);
    expect(schemasCompatible(of('INT'), of('INTEGER'))).toBe(false);
    expect(schemasCompatible(of('UNSIGNED BIG INT'), of('UNSIGNEDBIGINT'))).toBe(false);
  });
});

describe('compareSchemas matches table names as SQLite does', () => {
  const d = describeSchema([{ name: 'id', type: 'TEXT', notNull: true }], [{ name: 'a', type: 'TEXT', notNull: false }]);
  const other = describeSchema([{ name: 'id', type: 'INTEGER', notNull: true }], []);
  it('ASCII case aside, on both sides alike; other letters and two spellings of one name are not matched', () => {
    const split = (ours: Record<string, string>, theirs: Record<string, string>) => {
      const { common, excluded } = compareSchemas(ours, theirs);
      return { common: [...common].sort(), excluded };
    };
    expect(split({ Notes: d, tags: d }, { notes: d, TAGS: d })).toEqual({ common: ['Notes', 'TAGS', 'notes', 'tags'], excluded: [] });
    expect(split({ notes: d, TAGS: d }, { Notes: d, tags: d })).toEqual({ common: ['Notes', 'TAGS', 'notes', 'tags'], excluded: [] });
    expect(split({ Notes: d }, { notes: other })).toEqual({ common: [], excluded: ['Notes', 'notes'] });
    expect(split({ Ä: d }, { ä: d })).toEqual({ common: [], excluded: ['Ä', 'ä'] });
    expect(split({ notes: d }, { Notes: d, NOTES: d })).toEqual({ common: [], excluded: ['NOTES', 'Notes', 'notes'] });
  });
});
