/**
 * The signing identity and the signed bodies of other replicas (docs/security.md, "Authorship")
 * survive reopening, a crash, log replay and snapshots; the identity never enters the database file.
 */
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { createSigningIdentity, exportSigningIdentity, type SigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { signChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { openBatch } from '../../../../shared-worker/sync/authored-batch.js';

const open = (store: MemoryKeyValueStore) => openDurableReplica({ store, createReplica, warn: () => {} });

async function withTable(d: DurableReplicaHandle): Promise<DurableReplicaHandle> {
  await d.exec('CREATE TABLE IF NOT EXISTS t(id TEXT PRIMARY KEY NOT NULL, v TEXT)');
  await d.enableSync('t');
  return d;
}

const row = (node: string, id: string, v: string, hlc: number): ChangeSet => ({
  nodes: [node], tables: [{ table: 't', columns: ['v'], rows: [{ pk: [id], put: [hlc, 0], del: null, cells: [[0, v, hlc, 0]] }] }],
});

/** Applies `author`'s signed set as a session does: the changes with their body to keep. */
async function applySigned(d: DurableReplicaHandle, author: SigningIdentity, cs: ChangeSet): Promise<Uint8Array> {
  const body = await signChangeSet(author, cs);
  const hlc = cs.tables[0]!.rows[0]!.put![0];
  await d.applyChanges(cs, { signed: [{ node: author.nodeId, hlc, body }] });
  return body;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('signing identity', () => {
  it('is made once, bound to the node id, and kept across a clean reopen and a crash', async () => {
    const store = new MemoryKeyValueStore();
    const d = await withTable(await open(store));
    expect(d.nodeId).toBe(d.identity.nodeId);
    await d.exec("INSERT INTO t VALUES ('a', 'acknowledged')");
    await d.close();

    const again = await open(store.reopen());
    expect(again.nodeId).toBe(d.nodeId);
    expect([...again.identity.publicKey]).toEqual([...d.identity.publicKey]);
    // Crash: a write in flight is never stored; the reopened replica is still the same node.
    const crashing = store.reopen();
    const live = await open(crashing);
    crashing.crashAfterWrites(0);
    void live.exec("INSERT INTO t VALUES ('b', 'lost')");
    const afterCrash = await open(store.reopen());
    expect(afterCrash.nodeId).toBe(d.nodeId);
    expect((await afterCrash.exec('SELECT id FROM t')).rows).toEqual([{ id: 'a' }]);
    // New writes are signed-able under the same id: the vector has one own entry.
    await afterCrash.exec("INSERT INTO t VALUES ('c', 'new')");
    expect(Object.keys(afterCrash.getVector())).toEqual([d.nodeId]);
  });

  it('is never inside the database file (snapshots and exports)', async () => {
    const store = new MemoryKeyValueStore();
    const d = await withTable(await open(store));
    await d.exec("INSERT INTO t VALUES ('a', 'x')");
    await d.snapshot();
    await d.settled();
    const { privateKey } = await exportSigningIdentity(d.identity);
    const snap = await store.get<Uint8Array>('snap');
    expect(snap).toBeInstanceOf(Uint8Array);
    expect(contains(snap!, privateKey.slice(-32))).toBe(false);
    expect(await store.get('identity')).toBeDefined();
  });
});

describe('signed bodies of other replicas', () => {
  it('are kept verbatim, restored by log replay after a crash and by the snapshot', async () => {
    const author = await createSigningIdentity();
    const store = new MemoryKeyValueStore();
    const d = await withTable(await open(store));
    const hlc = hlcFromMs(Date.now());
    const body = await applySigned(d, author, row(author.nodeId, 'k', 'from author', hlc));
    expect(d.signedSince({}).map((b) => [b.node, b.hlc, [...b.body]])).toEqual([[author.nodeId, hlc, [...body]]]);
    expect(d.signedSince({ [author.nodeId]: hlc })).toEqual([]);

    // Crash with the body only in the log: replay restores it.
    const crashing = store.reopen();
    const live = await open(crashing);
    crashing.crashAfterWrites(0);
    void live.exec("INSERT INTO t VALUES ('z', 'lost')");
    const replayed = await open(store.reopen());
    expect(replayed.logStats().records).toBeGreaterThan(0);
    expect(replayed.signedSince({}).map((b) => [...b.body])).toEqual([[...body]]);

    // Into a snapshot, then reopened from it alone.
    await replayed.snapshot();
    await replayed.settled();
    await replayed.close();
    const fromSnapshot = await open(store.reopen());
    expect(fromSnapshot.logStats().records).toBe(0);
    expect(fromSnapshot.signedSince({}).map((b) => [...b.body])).toEqual([[...body]]);
  });

  it('are dropped once no register carries their stamp; what stays still rebuilds the whole state', async () => {
    const author = await createSigningIdentity();
    const d = await withTable(await open(new MemoryKeyValueStore()));
    const base = hlcFromMs(Date.now());
    for (let i = 0; i < 5; i++) await applySigned(d, author, row(author.nodeId, 'k', `v${i}`, base + i));
    await applySigned(d, author, row(author.nodeId, 'other', 'kept', base + 5));
    expect(d.signedSince({})).toHaveLength(6);
    await d.snapshot(); // export() sweeps
    await d.settled();
    const kept = d.signedSince({});
    expect(kept.map((b) => b.hlc)).toEqual([base + 4, base + 5]);

    // A newcomer given only the kept bodies (what a delta of this replica carries) gets the same table.
    const fresh = await withTable(await open(new MemoryKeyValueStore()));
    const opened = await openBatch({ signed: kept.map((b) => b.body), changes: { nodes: [], tables: [] } }, fresh.nodeId, (n) => fresh.isKnownAuthor(n));
    await fresh.applyChanges(opened.changes, { signed: opened.signed });
    expect((await fresh.exec('SELECT * FROM t ORDER BY id')).rows).toEqual((await d.exec('SELECT * FROM t ORDER BY id')).rows);
    expect(fresh.getVector()).toEqual(d.getVector());
  });
});

describe('known authors (docs/security.md, "Legacy history")', () => {
  it('are the own key-bound id and every node whose body was kept, and survive a clean reopen, a crash (log replay) and a snapshot', async () => {
    const author = await createSigningIdentity();
    const stranger = await createSigningIdentity();
    const store = new MemoryKeyValueStore();
    const d = await withTable(await open(store));
    expect(d.isKnownAuthor(d.nodeId)).toBe(true);
    expect(d.isKnownAuthor(author.nodeId)).toBe(false);
    await applySigned(d, author, row(author.nodeId, 'k', 'signed', hlcFromMs(Date.now())));
    // Unsigned (legacy) registers of a node make it no author.
    await d.applyChanges(row('0123456789abcdef', 'old', 'legacy', hlcFromMs(Date.now()) - 5));
    expect(d.isKnownAuthor(author.nodeId)).toBe(true);
    expect(d.isKnownAuthor('0123456789abcdef')).toBe(false);
    expect(d.isKnownAuthor(stranger.nodeId)).toBe(false);
    await d.close();

    const reopened = await open(store.reopen());
    expect(reopened.isKnownAuthor(author.nodeId)).toBe(true);
    expect(reopened.isKnownAuthor(reopened.nodeId)).toBe(true);

    // A crash with the stranger's body only in the log: replay rebuilds the set.
    const crashing = store.reopen();
    const live = await open(crashing);
    await applySigned(live, stranger, row(stranger.nodeId, 's', 'signed too', hlcFromMs(Date.now())));
    crashing.crashAfterWrites(0);
    void live.exec("INSERT INTO t VALUES ('z', 'lost')");
    const replayed = await open(store.reopen());
    expect(replayed.logStats().records).toBeGreaterThan(0);
    expect([author, stranger].map((a) => replayed.isKnownAuthor(a.nodeId))).toEqual([true, true]);

    // Into a snapshot (whose sweep drops the superseded bodies, never the authors), then from it alone.
    await applySigned(replayed, author, row(author.nodeId, 'k', 'supersedes', hlcFromMs(Date.now()) + 10));
    await applySigned(replayed, author, row(author.nodeId, 's', 'supersedes the stranger', hlcFromMs(Date.now()) + 11));
    await replayed.snapshot();
    await replayed.settled();
    expect(replayed.signedSince({}).map((b) => b.node)).not.toContain(stranger.nodeId);
    await replayed.close();
    const fromSnapshot = await open(store.reopen());
    expect(fromSnapshot.logStats().records).toBe(0);
    expect([author, stranger].map((a) => fromSnapshot.isKnownAuthor(a.nodeId))).toEqual([true, true]);
    expect(fromSnapshot.isKnownAuthor('0123456789abcdef')).toBe(false);
  });

  it('a database file from before the set: the signers of its kept bodies become known authors on open', async () => {
    const author = await createSigningIdentity();
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, v TEXT)');
    r.enableSync('t');
    const hlc = hlcFromMs(Date.now());
    const cs = row(author.nodeId, 'k', 'signed', hlc);
    r.applyChanges(cs, { signed: [{ node: author.nodeId, hlc, body: await signChangeSet(author, cs) }] });
    r.applyChanges(row('0123456789abcdef', 'old', 'legacy', hlc - 5));
    expect(r.isKnownAuthor(author.nodeId)).toBe(true);
    // The same file as an older release wrote it: no _rb_authors table.
    const db = new (await initSqlJs()).Database(r.export());
    r.close();
    db.run('DROP TABLE _rb_authors');
    const upgraded = await createReplica({ data: db.export() });
    db.close();
    expect(upgraded.isKnownAuthor(author.nodeId)).toBe(true);
    expect(upgraded.isKnownAuthor('0123456789abcdef')).toBe(false);
    expect(upgraded.isKnownAuthor(upgraded.nodeId)).toBe(false); // a replica without bindNodeId has no key
    upgraded.close();
  });
});
