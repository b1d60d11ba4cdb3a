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

describe('a stamp too big for one message (several signed sets of one stamp)', () => {
  const twoParts = async (author: SigningIdentity, hlc: number) => [
    await signChangeSet(author, row(author.nodeId, 'a', 'part 1', hlc)),
    await signChangeSet(author, row(author.nodeId, 'b', 'part 2', hlc)),
  ];

  /** What a newcomer gets from `relay`'s kept bodies alone (what a delta of it carries for that node). */
  async function newcomerFrom(relay: DurableReplicaHandle): Promise<unknown[]> {
    const fresh = await withTable(await open(new MemoryKeyValueStore()));
    const opened = await openBatch({ signed: relay.signedSince({}).map((b) => b.body), changes: { nodes: [], tables: [] } }, fresh.nodeId, (n) => fresh.isKnownAuthor(n));
    await fresh.applyChanges(opened.changes, { signed: opened.signed });
    return (await fresh.exec('SELECT id, v FROM t ORDER BY id')).rows;
  }

  it('a relay keeps every part, once each, across a crash; a newcomer gets the whole stamp from it', async () => {
    const author = await createSigningIdentity();
    const store = new MemoryKeyValueStore();
    const relay = await withTable(await open(store));
    const parts = await twoParts(author, hlcFromMs(Date.now()));
    const opened = await openBatch({ signed: [...parts, parts[0]!], changes: { nodes: [], tables: [] } }, relay.nodeId, (n) => relay.isKnownAuthor(n));
    await relay.applyChanges(opened.changes, { signed: opened.signed });
    await relay.applyChanges(opened.changes, { signed: opened.signed }); // again, later
    expect(relay.signedSince({}).map((b) => [...b.body])).toEqual(parts.map((p) => [...p]));
    const want = [{ id: 'a', v: 'part 1' }, { id: 'b', v: 'part 2' }];
    expect(await newcomerFrom(relay)).toEqual(want);
    // Crash with the parts only in the log, then a snapshot (whose sweep keeps both).
    const crashing = store.reopen();
    const live = await open(crashing);
    crashing.crashAfterWrites(0);
    void live.exec("INSERT INTO t VALUES ('z', 'lost')");
    const replayed = await open(store.reopen());
    expect(replayed.signedSince({})).toHaveLength(2);
    await replayed.snapshot();
    await replayed.settled();
    expect(await newcomerFrom(replayed)).toEqual(want);
  });

  it('a database file whose table held one body per stamp opens with its bodies, and then keeps every part', async () => {
    const author = await createSigningIdentity();
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, v TEXT)');
    r.enableSync('t');
    const hlc = hlcFromMs(Date.now());
    const first = row(author.nodeId, 'k', 'kept', hlc - 10);
    const body = await signChangeSet(author, first);
    r.applyChanges(first, { signed: [{ node: author.nodeId, hlc: hlc - 10, body }] });
    // The same file with the table as the previous release made it.
    const db = new (await initSqlJs()).Database(r.export());
    r.close();
    db.run('DROP TABLE _rb_signed; CREATE TABLE _rb_signed(v INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    db.run('INSERT INTO _rb_signed(v, body) SELECT v, ? FROM _rb_stamps WHERE hlc = ?', [body, hlc - 10]);
    const upgraded = await createReplica({ data: db.export() });
    db.close();
    expect(upgraded.signedSince({}).map((b) => [...b.body])).toEqual([[...body]]);
    const parts = await twoParts(author, hlc);
    const o = await openBatch({ signed: parts, changes: { nodes: [], tables: [] } }, upgraded.nodeId, (n) => upgraded.isKnownAuthor(n));
    upgraded.applyChanges(o.changes, { signed: o.signed });
    expect(upgraded.signedSince({}).map((b) => [...b.body])).toEqual([body, ...parts].map((p) => [...p]));
    upgraded.close();
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
