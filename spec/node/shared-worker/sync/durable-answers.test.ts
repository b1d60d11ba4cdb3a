/**
 * What a peer is told comes from storage, not from memory that may still be rolled back: a write
 * that storage refuses (QUOTA) must not reach a peer through a hello vector, a delta or an ack,
 * or it would come back from that peer after the rollback.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import type { KeyValueWrite } from '../../../../shared-worker/persistence/kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { connect, makeNode, readyCount } from './net.js';

let keys: RoomKeys;
beforeAll(async () => {
  keys = (await roomFor('durable answers')).keys;
});

/** A store whose next write waits until the test refuses it with QUOTA (or lets it through). */
class GatedStore extends MemoryKeyValueStore {
  gate: { refuse(): void; release(): void } | null = null;
  private armed = false;
  /** While set, reads wait for it (a rollback's restore then stays under way). */
  private readsHeld: Promise<void> | null = null;

  arm(): void {
    this.armed = true;
  }

  /** Holds every read from now until the returned function is called. */
  holdReads(): () => void {
    let release!: () => void;
    this.readsHeld = new Promise<void>((resolve) => { release = resolve; });
    return () => {
      this.readsHeld = null;
      release();
    };
  }

  override async get<T = unknown>(key: string): Promise<T | undefined> {
    await this.readsHeld;
    return super.get<T>(key);
  }

  override async getMany<T = unknown>(keys: string[]): Promise<Array<T | undefined>> {
    await this.readsHeld;
    return super.getMany<T>(keys);
  }

  override async keys(prefix?: string): Promise<string[]> {
    await this.readsHeld;
    return super.keys(prefix);
  }

  override write(batch: KeyValueWrite): Promise<void> {
    if (!this.armed) return super.write(batch);
    this.armed = false;
    return new Promise<void>((resolve, reject) => {
      this.gate = {
        refuse: () => reject(new BatteryError('QUOTA', 'disk full')),
        release: () => { super.write(batch).then(resolve, reject); },
      };
    });
  }
}

async function open(store: MemoryKeyValueStore, i: number): Promise<DurableReplicaHandle> {
  const r = await openDurableReplica({ store, createReplica, replicaOptions: { nodeId: nodeIdOf(i) }, warn: () => {} });
  await r.exec('CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, v)');
  await r.enableSync('t');
  return r;
}

const rows = async (r: DurableReplicaHandle) => (await r.exec('SELECT id, v FROM t ORDER BY id')).rows;

describe('answers to peers come from durable state', () => {
  it('a write refused with QUOTA is not in the hello vector or delta a peer gets meanwhile, and does not come back', async () => {
    const store = new GatedStore();
    const a = await open(store, 1);
    const b = await open(new MemoryKeyValueStore(), 2);
    await a.exec("INSERT INTO t VALUES ('kept', 'stored')");
    store.arm();
    const refused = a.exec("INSERT INTO t VALUES ('x', 'refused write')").then(() => 'acknowledged', (e: BatteryError) => e.code);
    const A = makeNode('A', a, keys);
    const B = makeNode('B', b, keys);
    connect(A, B);
    // Plenty of time for hellos and deltas while the write is in memory but not stored.
    await until(() => store.gate !== null);
    await ticks(100);
    expect((await rows(b)).map((r) => r.id)).not.toContain('x');
    store.gate!.refuse();
    expect(await refused).toBe('QUOTA');
    await until(() => readyCount(A, B) === 1 && readyCount(B, A) === 1);
    await a.exec("INSERT INTO t VALUES ('after', 'stored too')");
    await until(() => b.getVector()[a.nodeId] === a.getVector()[a.nodeId]);
    await ticks(20);
    expect(await rows(b)).toEqual([{ id: 'after', v: 'stored too' }, { id: 'kept', v: 'stored' }]);
    expect(await rows(a)).toEqual(await rows(b));

    // A reconnect does not bring it back either.
    A.sync.removeAll();
    B.sync.removeAll();
    connect(A, B);
    await until(() => readyCount(A, B) === 1 && readyCount(B, A) === 1);
    await ticks(50);
    expect((await rows(a)).map((r) => r.id)).toEqual(['after', 'kept']);
    A.sync.close();
    B.sync.close();
    await a.close();
    await b.close();
  });

  it("shows a peer's change to readNow and onRemoteApplied before storing it, and acknowledges it to the peer only once stored", async () => {
    const a = await open(new MemoryKeyValueStore(), 1);
    const storeB = new GatedStore();
    const b = await open(storeB, 2);
    // No heartbeats: every frame B sends after A's write is an answer to that write.
    const options = { pingIntervalMs: 3_600_000 };
    const A = makeNode('A', a, keys, { options });
    const B = makeNode('B', b, keys, { options });
    const link = connect(A, B);
    await until(() => readyCount(A, B) === 1 && readyCount(B, A) === 1);
    await b.exec("INSERT INTO t VALUES ('warm', 1)");
    await until(() => a.getVector()[b.nodeId] !== undefined);
    await ticks(20);
    const heard: string[] = [];
    b.onRemoteApplied!((c) => heard.push(`memory ${c.tables.join()}`));
    b.onCommit((c) => { if (c.origin === 'remote') heard.push(`stored ${c.tables.join()}`); });
    const fromB = link.b.sent.length;
    storeB.arm();
    await a.exec("INSERT INTO t VALUES ('x', 'from A')");
    await until(() => storeB.gate !== null);
    expect(b.readNow!('SELECT v FROM t WHERE id = ?', ['x']).rows).toEqual([{ v: 'from A' }]);
    expect(heard).toEqual(['memory t']);
    await ticks(50);
    expect(link.b.sent.length).toBe(fromB); // no ack while B's storage holds the change
    storeB.gate!.release();
    await until(() => link.b.sent.length > fromB);
    expect(heard).toEqual(['memory t', 'stored t']);
    A.sync.close();
    B.sync.close();
    await a.close();
    await b.close();
  });

  it('merges the next delta piece while the previous one is being stored, and acknowledges each only once stored', async () => {
    const a = await open(new MemoryKeyValueStore(), 1);
    for (let i = 0; i < 3; i++) await a.exec('INSERT INTO t VALUES (?, ?)', [`r${i}`, i]); // 3 stamps: 3 pieces
    const storeB = new GatedStore();
    const b = await open(storeB, 2);
    const options = { pingIntervalMs: 3_600_000, pieceRows: 1 };
    const A = makeNode('A', a, keys, { options });
    const B = makeNode('B', b, keys, { options });
    storeB.arm();
    connect(A, B);
    const inMemory = () => b.readNow!('SELECT count(*) AS n FROM t').rows[0]!.n;
    const unacked = () => A.sync.syncState()[0]?.toSend ?? -1;
    await until(() => storeB.gate !== null && inMemory() === 3);
    await ticks(50);
    expect(unacked()).toBe(3); // every piece is merged, none acknowledged while storage holds them
    storeB.gate!.release();
    await until(() => unacked() === 0);
    await b.whenDurable();
    expect((await rows(b)).map((r) => r.id)).toEqual(['r0', 'r1', 'r2']);
    A.sync.close();
    B.sync.close();
    await a.close();
    await b.close();
  });

  it('a delta piece storage refuses closes the link before a later piece is merged, and the reconnect brings every row', async () => {
    const a = await open(new MemoryKeyValueStore(), 1);
    for (let i = 0; i < 4; i++) await a.exec('INSERT INTO t VALUES (?, ?)', [`r${i}`, i]);
    const storeB = new GatedStore();
    const b = await open(storeB, 2);
    const options = { pingIntervalMs: 3_600_000, pieceRows: 1 };
    const A = makeNode('A', a, keys, { options });
    const B = makeNode('B', b, keys, { options });
    storeB.arm();
    connect(A, B);
    await until(() => storeB.gate !== null);
    storeB.gate!.refuse();
    await until(() => B.events.some((e) => e.type === 'error' && e.code === 'QUOTA'));
    await b.whenDurable().catch(() => {});
    await b.whenDurable();
    A.sync.removeAll();
    B.sync.removeAll();
    connect(B, A);
    await until(() => A.sync.syncState()[0]?.state === 'caught-up' && B.sync.syncState()[0]?.state === 'caught-up');
    await b.whenDurable();
    expect((await rows(b)).map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(b.getVector()[a.nodeId]).toBe(a.getVector()[a.nodeId]);
    A.sync.close();
    B.sync.close();
    await a.close();
    await b.close();
  });

  it('applyChangesStaged refuses while memory is rolled back after a refused write, and works again after', async () => {
    const store = new GatedStore();
    const b = await open(store, 2);
    const peer = await createReplica({ nodeId: nodeIdOf(9) });
    peer.exec('CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, v)');
    peer.enableSync('t');
    peer.exec("INSERT INTO t VALUES ('p', 1)");
    store.arm();
    let settled = false;
    const write = b.exec("INSERT INTO t VALUES ('x', 1)").catch((e: BatteryError) => e.code).finally(() => { settled = true; });
    await until(() => store.gate !== null);
    const releaseReads = store.holdReads();
    store.gate!.refuse();
    await new Promise((resolve) => setTimeout(resolve, 0)); // the refusal reaches the log
    // The rollback is under way (its restore waits for the held reads), and the refused write's
    // caller is told only once it is done: a piece merged now could land without the refused one before it.
    await expect(b.applyChangesStaged!(peer.changesSince({}))).rejects.toMatchObject({ code: 'QUOTA' });
    expect(settled).toBe(false);
    releaseReads();
    expect(await write).toBe('QUOTA');
    await b.whenDurable().catch(() => {});
    const { result, stored } = await b.applyChangesStaged!(peer.changesSince({}));
    expect(result.applied).toBeGreaterThan(0);
    await stored;
    expect((await rows(b)).map((r) => r.id)).toEqual(['p']);
    peer.close();
    await b.close();
  });

  it('whenDurable waits for the pending group, and after a refusal rejects only once memory is rolled back', async () => {
    const store = new GatedStore();
    const a = await open(store, 1);
    await a.whenDurable();
    store.arm();
    const write = a.exec("INSERT INTO t VALUES ('x', 1)").catch((e: BatteryError) => e.code);
    expect(a.getVector()[a.nodeId]).toBeDefined(); // memory has it already
    let settled = false;
    const durable = a.whenDurable().then(() => 'durable', (e: BatteryError) => e.code).finally(() => { settled = true; });
    await until(() => store.gate !== null);
    await ticks(20);
    expect(settled).toBe(false);
    store.gate!.refuse();
    expect(await durable).toBe('QUOTA');
    expect(await write).toBe('QUOTA');
    expect(a.getVector()[a.nodeId]).toBeUndefined(); // rolled back before whenDurable settled
    await a.whenDurable();
    await a.close();
  });
});
