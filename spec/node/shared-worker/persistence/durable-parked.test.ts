/**
 * Parked registers (replica/parked-registers.ts) through the durable replica: an acknowledged
 * apply that parks survives a crash (its log entry replays it), a parking apply refused with QUOTA
 * leaves nothing parked and the vector where it was, and a crash right after enableSync (its
 * snapshot not yet written) loses nothing: the rows are parked again and the next enableSync
 * merges them.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeSet, SignedBody } from '../../../../shared-worker/replica/contracts/change-set.js';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

const ME = '0000000000000001';
const A = 'aaaaaaaaaaaaaaaa';
const NOW = 1_700_000_000_000;
const H = NOW * 1024;
const none: ChangeSet = { nodes: [], tables: [] };
const body = (hlc: number): SignedBody => ({ node: A, hlc, body: new Uint8Array([hlc % 251, 7]) });
const lists = (hlc: number, key: string, name: string): ChangeSet => ({
  nodes: [A], tables: [{ table: 'lists', columns: ['name'], rows: [{ pk: [key], put: [hlc, 0], del: null, cells: [[0, name, hlc, 0]] }] }],
});

async function open(data: Map<string, unknown>, store = new MemoryKeyValueStore({ data })) {
  const d = await openDurableReplica({ store, createReplica: (o) => createReplica({ ...o, nodeId: ME, now: () => NOW }), warn: () => {} });
  await d.migrate(['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)']);
  await d.enableSync('notes');
  return { d, store };
}

async function upgrade(data: Map<string, unknown>) {
  const d = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica: (o) => createReplica({ ...o, nodeId: ME, now: () => NOW }), warn: () => {} });
  await d.migrate(['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)', 'CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT)']);
  await d.enableSync('notes');
  await d.enableSync('lists');
  return d;
}

describe('parked registers, durable', () => {
  it('an acknowledged parking apply survives a crash; a crash right after enableSync loses nothing', async () => {
    const data = new Map<string, unknown>();
    const { d } = await open(data);
    await d.applyChanges(none, { signed: [body(H + 1)], relayed: lists(H + 1, 'l1', 'groceries') });
    await d.applyChanges(none, { signed: [body(H + 2)], relayed: lists(H + 2, 'l1', 'food') });
    const crashed = new Map(data); // nothing flushed on the way out
    const d2 = await upgrade(crashed);
    expect(d2.getVector()).toMatchObject({ [A]: H + 2 });
    expect((await d2.exec('SELECT * FROM lists')).rows).toEqual([{ id: 'l1', name: 'food' }]);
    await d2.close();

    // enableSync called, storage taken before its snapshot could land.
    const { d: d3 } = await open(data);
    await d3.migrate(['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)', 'CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT)']);
    const enabling = d3.enableSync('lists');
    const midway = new Map(data);
    await enabling;
    const d4 = await upgrade(midway);
    expect((await d4.exec('SELECT * FROM lists')).rows).toEqual([{ id: 'l1', name: 'food' }]);
    expect(d4.signedSince({}).map((b) => b.hlc - H).sort()).toContain(2);
    await d4.close();
    await d3.close();
  });

  it('rows parked for a synced table and merged by an ALTER that makes them fit survive a crash right after the ALTER is acknowledged', async () => {
    const NOTES = 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, name TEXT)';
    const ADD = 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0';
    const reopen = async (data: Map<string, unknown>, steps: string[]) => {
      const d = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica: (o) => createReplica({ ...o, nodeId: ME, now: () => NOW }), warn: () => {} });
      await d.migrate(steps);
      await d.enableSync('notes');
      return d;
    };
    // A's own rows of notes, its definition excluded by the hello (a column notes lacks here).
    const theirs = (hlc: number, key: string, name: string, pinned: number): ChangeSet => ({
      nodes: [A], tables: [{ table: 'notes', columns: ['name', 'pinned'], rows: [{ pk: [key], put: [hlc, 0], del: null, cells: [[0, name, hlc, 0], [1, pinned, hlc, 0]] }] }],
    });
    const data = new Map<string, unknown>();
    const { d } = await open(data);
    await d.exec("INSERT INTO notes VALUES ('n0', 'mine')");
    await d.applyChanges(none, { signed: [body(H + 1)], parked: theirs(H + 1, 'n1', 'one', 1) });
    await d.applyChanges(none, { signed: [body(H + 2)], parked: theirs(H + 2, 'n2', 'two', 2) });
    await d.migrate([NOTES, ADD]);
    const afterAdd = new Map(data); // acknowledged: the step's log entry is stored, no snapshot yet
    await d.exec('ALTER TABLE notes DROP COLUMN name');
    const afterDrop = new Map(data);
    const expected = [{ id: 'n0', name: 'mine', pinned: 0 }, { id: 'n1', name: 'one', pinned: 1 }, { id: 'n2', name: 'two', pinned: 2 }];
    const d2 = await reopen(afterAdd, [NOTES, ADD]);
    expect(d2.getSchemaVersion()).toBe(2);
    expect((await d2.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual(expected);
    await d2.close();
    const d3 = await reopen(afterDrop, [NOTES, ADD]);
    expect((await d3.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual(expected.map(({ id, pinned }) => ({ id, pinned })));
    expect((await d3.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual((await d.exec('SELECT * FROM notes ORDER BY id')).rows);
    await d3.close();
    await d.close();
  });

  it('a user trigger that writes a non-synced table while parked rows are merged by an ALTER: its rows are logged, and survive a crash', async () => {
    const data = new Map<string, unknown>();
    const { d } = await open(data);
    await d.exec('CREATE TABLE audit (note TEXT); CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN INSERT INTO audit VALUES (NEW.id); END');
    await d.applyChanges(none, { signed: [body(H + 1)], parked: { nodes: [A], tables: [{ table: 'notes', columns: ['name', 'pinned'], rows: [{ pk: ['n1'], put: [H + 1, 0], del: null, cells: [[0, 'one', H + 1, 0], [1, 1, H + 1, 0]] }] }] } });
    await d.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER');
    const crashed = new Map(data);
    expect((await d.exec('SELECT * FROM audit')).rows).toEqual([{ note: 'n1' }]);
    const d2 = await openDurableReplica({ store: new MemoryKeyValueStore({ data: crashed }), createReplica: (o) => createReplica({ ...o, nodeId: ME, now: () => NOW }), warn: () => {} });
    expect((await d2.exec('SELECT * FROM notes')).rows).toEqual([{ id: 'n1', name: 'one', pinned: 1 }]);
    expect((await d2.exec('SELECT * FROM audit')).rows).toEqual([{ note: 'n1' }]);
    await d2.close();
    await d.close();
  });

  it('a parking apply refused with QUOTA leaves nothing parked and the vector unmoved; sent again it lands', async () => {
    const data = new Map<string, unknown>();
    const { d, store } = await open(data);
    const vector = d.getVector();
    store.failNextWrites(1);
    await expect(d.applyChanges(none, { signed: [body(H + 1)], relayed: lists(H + 1, 'l1', 'groceries') })).rejects.toMatchObject({ code: 'QUOTA' });
    await d.settled(); // the rollback to what storage holds
    expect(d.getVector()).toEqual(vector);
    expect(d.signedSince({})).toEqual([]);
    await d.applyChanges(none, { signed: [body(H + 1)], relayed: lists(H + 1, 'l1', 'groceries') });
    await d.close();
    const d2 = await upgrade(data);
    expect((await d2.exec('SELECT * FROM lists')).rows).toEqual([{ id: 'l1', name: 'groceries' }]);
    await d2.close();
  });
});
