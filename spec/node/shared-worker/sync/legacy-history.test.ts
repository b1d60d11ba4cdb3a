/**
 * Legacy history (docs/security.md, "Authorship"): a database written by the 0.1 release (random
 * node ids, no keys) opens, keeps its data, syncs its unsigned pre-horizon rows to a new replica,
 * and writes new rows under its key-bound id, which travel signed.
 */
import { decode } from '@msgpack/msgpack';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { roomFor, ticks, until } from './helpers.js';
import { connect, errorsOf, makeNode, readyCount } from './net.js';

const fixture = () => new Map(decode(readFileSync(new URL('../persistence/fixtures/release-0.1-store.msgpack', import.meta.url))) as Array<[string, unknown]>);
const SCHEMA = "CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT DEFAULT '', n INTEGER); CREATE TABLE pairs(a INTEGER NOT NULL, b TEXT NOT NULL, v REAL, PRIMARY KEY (a, b)); CREATE TABLE counters(id INTEGER PRIMARY KEY, c INTEGER); CREATE TABLE keyonly(k TEXT PRIMARY KEY NOT NULL)";

describe('legacy history', () => {
  it('a 0.1 database syncs its unsigned rows and its new signed ones to a new replica', async () => {
    const { keys } = await roomFor('legacy room');
    const legacy = await openDurableReplica({ store: new MemoryKeyValueStore({ data: fixture() }), createReplica, warn: () => {} });
    await legacy.exec("INSERT INTO notes VALUES ('new', 'written after the upgrade', '', 9)");
    const fresh = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica, warn: () => {} });
    await fresh.exec(SCHEMA);
    for (const t of ['notes', 'pairs', 'counters', 'keyonly']) await fresh.enableSync(t);
    const a = makeNode('legacy', legacy, keys);
    const b = makeNode('fresh', fresh, keys);
    connect(a, b);
    await until(() => readyCount(b, a) === 1);
    const notes = async (d: typeof legacy) => (await d.exec('SELECT * FROM notes ORDER BY id')).rows;
    for (let i = 0; (await notes(fresh)).length < 4; i++) await ticks(2);
    expect(await notes(fresh)).toEqual(await notes(legacy));
    expect((await fresh.exec('SELECT * FROM counters ORDER BY id')).rows).toEqual((await legacy.exec('SELECT * FROM counters ORDER BY id')).rows);
    expect(fresh.getVector()).toEqual(legacy.getVector());
    // The new row came signed (its body is kept); the legacy ids' rows came without one.
    expect(fresh.signedSince({}).map((s) => s.node)).toEqual([legacy.nodeId]);
    expect(Object.keys(fresh.getVector()).sort()).toEqual(['b2b2b2b2b2b2b2b2', legacy.nodeId, 'f1f1f1f1f1f1f1f1'].sort());
    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(b)).toEqual([]);
    a.sync.close();
    b.sync.close();
  });
});
