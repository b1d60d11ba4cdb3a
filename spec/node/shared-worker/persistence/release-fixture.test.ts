/**
 * A store written by the 0.1 release (format 2: fixtures/make-release-fixture.ts made it) opens
 * with everything in it, migrates (ADD and DROP COLUMN on its synced tables) and keeps syncing.
 */
import { decode } from '@msgpack/msgpack';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeLogRecord, LOG_PREFIX } from '../../../../shared-worker/persistence/durable-log-record.js';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

function releaseStore(): Map<string, unknown> {
  const entries = decode(readFileSync(new URL('./fixtures/release-0.1-store.msgpack', import.meta.url))) as Array<[string, unknown]>;
  return new Map(entries);
}

const open = (data: Map<string, unknown>) =>
  openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica: (o) => createReplica({ ...o, now: () => 1_700_000_100_000 }), warn: () => {} });

describe('a 0.1 store', () => {
  it('opens with every table, register and vector, then migrates without loss and syncs with a new replica', async () => {
    const data = releaseStore();
    const d = await open(data);
    // Its old random id stays on the registers it wrote; new writes go under the key-bound id.
    expect(d.nodeId).not.toBe('f1f1f1f1f1f1f1f1');
    expect(d.nodeId).toBe(d.identity!.nodeId);
    expect(d.syncedTables().sort()).toEqual(['counters', 'keyonly', 'notes', 'pairs']);
    expect(d.getSchemaVersion()).toBe(0);
    expect((await d.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual([
      { id: 'n1', title: 'ONE', body: 'b1', n: 1 },
      { id: 'n3', title: 'three', body: 'pending', n: 3 },
      { id: 'n4', title: 'four', body: 'b4', n: 4 },
    ]);
    expect((await d.exec('SELECT * FROM counters ORDER BY id')).rows).toEqual([{ id: 1, c: 11 }, { id: 2, c: 21 }]);
    expect((await d.exec('SELECT * FROM localonly ORDER BY x')).rows).toEqual([{ x: 1, y: 'l' }, { x: 2, y: 'm' }]);
    expect(Object.keys(d.getVector()).sort()).toEqual(['b2b2b2b2b2b2b2b2', 'f1f1f1f1f1f1f1f1']);
    const before = d.changesSince({});

    await d.migrate(['ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0', 'ALTER TABLE pairs DROP COLUMN v', "UPDATE notes SET pinned = 1 WHERE id = 'n3'"]);
    expect(d.getSchemaVersion()).toBe(3);
    await d.close();

    const again = await open(data);
    expect(again.nodeId).toBe(d.nodeId);
    expect(again.getSchemaVersion()).toBe(3);
    expect((await again.exec('SELECT id, title, pinned FROM notes ORDER BY id')).rows).toEqual([
      { id: 'n1', title: 'ONE', pinned: 0 },
      { id: 'n3', title: 'three', pinned: 1 },
      { id: 'n4', title: 'four', pinned: 0 },
    ]);
    expect((await again.exec('SELECT * FROM pairs ORDER BY a')).rows).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);

    // A replica on the old definitions gets every register the 0.1 store had (the dropped pairs.v included).
    const old = await createReplica({ nodeId: 'c3c3c3c3c3c3c3c3', now: () => 1_700_000_100_000 });
    old.exec("CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT DEFAULT '', n INTEGER); CREATE TABLE pairs(a INTEGER NOT NULL, b TEXT NOT NULL, v REAL, PRIMARY KEY (a, b)); CREATE TABLE counters(id INTEGER PRIMARY KEY, c INTEGER); CREATE TABLE keyonly(k TEXT PRIMARY KEY NOT NULL)");
    for (const t of ['notes', 'pairs', 'counters', 'keyonly']) old.enableSync(t);
    old.applyChanges(again.changesSince({}));
    expect(old.exec('SELECT * FROM pairs ORDER BY a').rows).toEqual([{ a: 1, b: 'x', v: 1.5 }, { a: 2, b: 'y', v: 2.5 }]);
    expect(old.exec('SELECT * FROM notes ORDER BY id').rows).toEqual([
      { id: 'n1', title: 'ONE', body: 'b1', n: 1 },
      { id: 'n3', title: 'three', body: 'pending', n: 3 },
      { id: 'n4', title: 'four', body: 'b4', n: 4 },
    ]);
    expect(before.nodes.length).toBe(2);
    // The migration's UPDATE was written under the key-bound id, beside the two legacy ids.
    expect(Object.keys(again.getVector()).sort()).toEqual(['b2b2b2b2b2b2b2b2', again.nodeId, 'f1f1f1f1f1f1f1f1'].sort());
    expect(again.changesSince({}).nodes).toContain(again.nodeId);
    expect(old.getVector()).toEqual(again.getVector());
    expect(old.exec('SELECT * FROM keyonly').rows).toEqual([{ k: 'k1' }]);
  });

  it('replays its format-1 log entries followed by schema change entries appended by this version', async () => {
    const data = releaseStore();
    const oldEntries = [...data.keys()].filter((k) => k.startsWith(LOG_PREFIX));
    expect(oldEntries.length).toBeGreaterThan(0);
    const d = await open(data);
    await d.migrate(['ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0', 'ALTER TABLE pairs DROP COLUMN v']);
    await d.close();
    // No snapshot replaced them: the 0.1 entries are still there, the two steps were appended.
    const kinds = [...data].filter(([k]) => k.startsWith(LOG_PREFIX)).map(([, v]) => (decodeLogRecord(v as Uint8Array).schema ? 'schema' : 'format 1'));
    expect(kinds).toEqual([...oldEntries.map(() => 'format 1'), 'schema', 'schema']);
    const again = await open(data);
    expect(again.getSchemaVersion()).toBe(2);
    expect((await again.exec('SELECT id, body, pinned FROM notes ORDER BY id')).rows).toEqual([
      { id: 'n1', body: 'b1', pinned: 0 },
      { id: 'n3', body: 'pending', pinned: 0 },
      { id: 'n4', body: 'b4', pinned: 0 },
    ]);
    expect((await again.exec('SELECT * FROM pairs ORDER BY a')).rows).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
    await again.close();
  });
});
