import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { logKey } from '../../../../shared-worker/persistence/durable-log-record.js';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createFakeReplica, dumpFake, fakeStats } from './fake-replica.js';
import { holdWrites, open, settle, until } from './durable-helpers.js';

/** Reaches the in-memory replica behind the handle (tests only). */
function inner(d: unknown): Replica {
  return (d as { replica: Replica }).replica;
}

describe('openDurableReplica (with the fake replica)', () => {
  it('writes every call of one tick in one store transaction', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    const before = store.writeCount;
    await Promise.all(Array.from({ length: 50 }, (_, i) => d.exec(`put k${i} v${i}`)));
    expect(store.writeCount - before).toBe(1);
    expect((await store.keys('log:')).length).toBe(50);
    await Promise.all([d.exec('put a 1'), d.execLocal('note 1 hi'), d.setPeerVector('peerX', { peerX: 3 })]);
    expect(store.writeCount - before).toBe(2);
    await d.close();
  });

  it('writes a burst of every kind of write made in one go in one transaction, also when storage was idle', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    const remote = await createFakeReplica({ nodeId: 'remoteNode' });
    remote.exec('put r1 9');
    const first = remote.changesSince({});
    const seen = remote.getVector();
    remote.exec('put r2 8');
    const second = remote.changesSince(seen);
    await d.settled();
    const before = store.writeCount;
    const staged = d.applyChangesStaged!(second);
    await Promise.all([
      d.exec('put a 1'),
      d.applyChanges(first),
      d.execLocal('note 1 hi'),
      d.setPeerVector('peerX', { peerX: 3 }),
      d.putRecords([['r', 1], ['s', 2]]),
      d.exec('put b 2'),
      staged.then((s) => s.stored),
    ]);
    expect(store.writeCount - before).toBe(1);
    await d.close();
    const again = await open(store.reopen());
    expect((await again.exec('get a')).rows).toEqual([{ k: 'a', v: '1' }]);
    expect([(await again.exec('get r1')).rows, (await again.exec('get r2')).rows]).toEqual([[{ k: 'r1', v: '9' }], [{ k: 'r2', v: '8' }]]);
    expect([again.getPeerVector('peerX'), await again.getRecord('s')]).toEqual([{ peerX: 3 }, 2]);
    await again.close();
  });

  it('resolves an exec only once its commit is in storage', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    const gate = holdWrites(store);
    let resolved = false;
    let storedWhenResolved = false;
    const p = d.exec('put a 1').then(() => {
      resolved = true;
      storedWhenResolved = store.data.has(logKey(d.logStats().lastSeq)) && d.logStats().lastSeq > 0;
    });
    await until(() => gate.held() === 1);
    await settle(2);
    expect(resolved).toBe(false);
    gate.release();
    await p;
    expect(storedWhenResolved).toBe(true);
    await d.close();
  });

  it('gathers the writes made while a group is being stored into one group written after it, never alongside', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    const before = store.writeCount;
    const gate = holdWrites(store);
    const order: string[] = [];
    const writes = [d.exec('put a 1').then(() => order.push('a'))];
    await until(() => gate.held() === 1);
    // Each in a task of its own, as requests arriving one message at a time.
    for (let i = 0; i < 5; i++) {
      await settle(0);
      writes.push(d.exec(`put b${i} ${i}`).then(() => order.push(`b${i}`)));
    }
    await settle(2);
    expect(gate.held()).toBe(1);
    gate.release();
    await Promise.all(writes);
    expect(store.writeCount - before).toBe(2);
    expect(order).toEqual(['a', 'b0', 'b1', 'b2', 'b3', 'b4']);
    expect((await store.keys('log:')).length).toBe(6);
    await d.close();
  });

  it('tells onCommit listeners only once the commit is in storage, in commit order', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    const seen: Array<{ commit: Commit; stored: boolean }> = [];
    d.onCommit((commit) => seen.push({ commit, stored: store.data.has(logKey(d.logStats().lastSeq)) }));
    const p = d.exec('put a 1');
    expect(seen).toEqual([]);
    await p;
    await d.exec('put b 2; note 5 x');
    expect(seen.map((s) => s.stored)).toEqual([true, true]);
    expect(seen.map((s) => s.commit.tables)).toEqual([['kv'], ['kv', 'notes']]);
    await d.close();
  });

  it('answers reads at once, without touching storage when nothing is pending', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec('put a 1');
    const writes = store.writeCount;
    expect((await d.exec('get a')).rows).toEqual([{ k: 'a', v: '1' }]);
    expect(store.writeCount).toBe(writes);
    expect(d.getVector()).toEqual({ [d.nodeId]: 1 });
    await d.close();
  });

  it('rejects a failing statement without writing anything', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    const writes = store.writeCount;
    await expect(d.exec('put a 1; boom')).rejects.toMatchObject({ code: 'SQL' });
    await d.settled();
    expect(store.writeCount).toBe(writes);
    expect((await d.exec('get a')).rows).toEqual([]);
    await d.close();
  });

  it('restores the same state after a reopen: synced, local, remote-applied, node id, vector, version', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec('put a 1; put b 2');
    await d.execLocal('note 1 local only');
    await d.exec('del a; note 2 mixed');
    const remote = await createFakeReplica({ nodeId: 'remoteNode' });
    remote.exec('put r 9; put b from-remote');
    await d.applyChanges(remote.changesSince({}));
    await d.exec('put c 3');
    const before = { dump: dumpFake(inner(d)), vector: d.getVector(), version: d.getVersion(), nodeId: d.nodeId };
    await d.close();

    const again = await open(store.reopen());
    expect({ dump: dumpFake(inner(again)), vector: again.getVector(), version: again.getVersion(), nodeId: again.nodeId }).toEqual(before);
    await again.close();
  });

  it('snapshots on DDL and enableSync in the same transaction that drops the covered log', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec('put a 1');
    await d.exec('put b 2');
    expect((await store.keys('log:')).length).toBe(2);
    await Promise.all([d.exec('ddl'), d.exec('put c 3')]);
    expect(await store.keys('log:')).toEqual([]);
    expect(await store.get('meta')).toMatchObject({ snapshotSeq: 2 });
    await d.exec('put d 4');
    expect(await store.keys('log:')).toEqual([logKey(3)]);
    await d.enableSync('other');
    expect(await store.keys('log:')).toEqual([]);
    const before = dumpFake(inner(d));
    await d.close();
    const again = await open(store.reopen());
    expect(dumpFake(inner(again))).toEqual(before);
    await again.close();
  });

  it('takes a snapshot off the write path once the log passes its thresholds, and keeps working', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store, { snapshotEvery: { records: 10, bytes: 1 << 30 } });
    const exportsBefore = fakeStats.exports;
    for (let i = 0; i < 9; i++) await d.exec(`put k${i} ${i}`);
    await d.settled();
    expect(fakeStats.exports).toBe(exportsBefore);
    await d.exec('put k9 9'); // the 10th entry: due when idle
    expect(fakeStats.exports).toBe(exportsBefore); // not on this write's path
    await d.settled();
    expect(fakeStats.exports).toBe(exportsBefore + 1);
    expect(d.logStats()).toMatchObject({ records: 0, snapshotSeq: 10 });
    expect(await store.keys('log:')).toEqual([]);
    await d.exec('put k10 10');
    expect(await store.keys('log:')).toEqual([logKey(11)]);
    await d.close();
  });

  it('snapshots with the next group when writes never leave an idle moment', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store, { snapshotEvery: { records: 5, bytes: 1 << 30 } });
    // Sequential awaited writes: the idle check always finds the next write pending.
    for (let i = 0; i < 60; i++) await d.exec(`put k${i} ${i}`);
    // Snapshots past the thresholds run in the background, beside the writes (durable-log.ts): how
    // far the log gets during the burst depends on the machine's load; once it settles, a
    // snapshot has cut it back although no write ever left an idle moment.
    await d.settled();
    expect(d.logStats().records).toBeLessThan(20);
    const before = dumpFake(inner(d));
    await d.close();
    const again = await open(store.reopen());
    expect(dumpFake(inner(again))).toEqual(before);
    await again.close();
  });

  it('keeps notifying the other listeners when one throws', async () => {
    const warnings: string[] = [];
    const d = await open(new MemoryKeyValueStore(), { warnings });
    const heard: number[] = [];
    d.onCommit(() => { throw new Error('listener bug'); });
    const off = d.onCommit((c) => heard.push(c.version));
    await d.exec('put a 1');
    off();
    await d.exec('put b 2');
    expect(heard).toEqual([1]);
    expect(warnings).toEqual([expect.stringContaining('listener bug'), expect.stringContaining('listener bug')]);
    await d.close();
  });

  it('keeps peer vectors across restarts', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    expect(d.getPeerVector('p1')).toBeUndefined();
    await d.setPeerVector('p1', { p1: 5, x: 2 });
    await d.setPeerVector('p1', { p1: 7, x: 2 });
    await d.setPeerVector('p2', {});
    expect(d.getPeerVector('p1')).toEqual({ p1: 7, x: 2 });
    await d.close();
    const again = await open(store.reopen());
    expect([again.getPeerVector('p1'), again.getPeerVector('p2')]).toEqual([{ p1: 7, x: 2 }, {}]);
    await again.close();
  });

  it('keeps records across restarts, written in one transaction; undefined clears one', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    expect(await d.getRecord('r')).toBeUndefined();
    const before = store.writeCount;
    await d.putRecords([['r', { n: 1 }], ['bytes', new Uint8Array([1, 2, 3])], ['gone', 'x']]);
    expect(store.writeCount - before).toBe(1);
    await d.putRecords([['gone', undefined]]);
    await d.close();
    const again = await open(store.reopen());
    expect([await again.getRecord('r'), await again.getRecord('bytes'), await again.getRecord('gone')]).toEqual([{ n: 1 }, new Uint8Array([1, 2, 3]), undefined]);
    await again.close();
  });

  it('close() stores what is pending, then refuses new calls', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    const pending = d.exec('put late 1');
    await d.close();
    await expect(pending).resolves.toBeDefined();
    await expect(d.exec('put x 1')).rejects.toMatchObject({ code: 'CLOSED' });
    const again = await open(store.reopen());
    expect((await again.exec('get late')).rows).toEqual([{ k: 'late', v: '1' }]);
    await again.close();
  });

  it('drops a damaged trailing entry with a warning and keeps everything before it', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec('put a 1');
    await d.exec('put b 2');
    await d.exec('put c 3');
    await d.close();
    const last = store.data.get(logKey(3)) as Uint8Array;
    store.data.set(logKey(3), last.subarray(0, last.length - 3)); // torn
    const warnings: string[] = [];
    const again = await open(store.reopen(), { warnings });
    expect(warnings).toEqual([expect.stringContaining('dropped 1 damaged log entry')]);
    expect((await again.exec('get b')).rows).toHaveLength(1);
    expect((await again.exec('get c')).rows).toHaveLength(0);
    await again.exec('put d 4'); // takes the place of the dropped entry
    await again.close();
    const third = await open(store.reopen(), { warnings });
    expect(warnings).toHaveLength(1);
    expect((await third.exec('get d')).rows).toHaveLength(1);
    await third.close();
  });

  it('opens from the last state that applied when an intact entry does not apply, and sets that entry (and those after it) aside, kept', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec('put a 1');
    await d.exec('put b 2');
    await d.exec('put c 3');
    await d.close();
    // A replica (version) with a bug that refuses the entry writing b.
    const refusing = async (o: Parameters<typeof createFakeReplica>[0]) => {
      const r = await createFakeReplica(o);
      const apply = r.applyChanges.bind(r);
      r.applyChanges = (cs, opts) => {
        if (cs.tables.some((t) => t.rows.some((row) => row.pk[0] === 'b'))) throw new Error('replica bug');
        return apply(cs, opts);
      };
      return r;
    };
    const logBefore = new Map([...store.data].filter(([k]) => k.startsWith('log:')));
    expect(logBefore.size).toBe(3);
    const warnings: string[] = [];
    const buggy = await open(store.reopen(), { createReplica: refusing, warnings });
    const [problem, ...more] = buggy.startupErrors();
    expect(more).toEqual([]);
    expect(problem).toMatchObject({ code: 'WORKER', detail: { setAside: [2, 3] } });
    expect(problem!.message).toMatch(/log entries 2-3 could not be applied and were set aside .*replica bug/);
    expect(warnings).toEqual([expect.stringContaining('log entries 2-3 could not be applied')]);
    expect((await buggy.exec('get a')).rows).toHaveLength(1);
    expect((await buggy.exec('get b')).rows).toHaveLength(0);
    await buggy.exec('put d 4'); // appended where the set-aside entries were: they must not be overwritten
    await buggy.close();
    // Kept byte for byte under aside:, out of the log.
    const aside = [...store.data].filter(([k]) => k.startsWith('aside:'));
    expect(aside.map(([k]) => k.replace(/^aside:\d+:/, ''))).toEqual(['log:000000000002', 'log:000000000003']);
    expect(aside.map(([, v]) => v)).toEqual([logBefore.get('log:000000000002'), logBefore.get('log:000000000003')]);
    // The next start (even by the fixed version) finds a log that applies and reports nothing.
    const fixed = await open(store.reopen(), { warnings });
    expect(fixed.startupErrors()).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect((await fixed.exec('get a')).rows).toHaveLength(1);
    expect((await fixed.exec('get d')).rows).toHaveLength(1);
    await fixed.close();
  });
});

describe('reads and background snapshots', () => {
  it('answers a read at once while a snapshot-only group is being written', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec('put a 1');
    // Hold every write that stores a snapshot until released.
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let inFlight!: () => void;
    const snapshotInFlight = new Promise<void>((r) => { inFlight = r; });
    const write = store.write.bind(store);
    store.write = async (batch) => {
      if ((batch.set ?? []).some(([k]) => k === 'snap')) {
        inFlight();
        await held;
      }
      return write(batch);
    };
    let snapshotDone = false;
    const snap = d.snapshot().then(() => { snapshotDone = true; });
    await snapshotInFlight; // the snapshot group is in flight (held)
    expect((await d.exec('get a')).rows).toEqual([{ k: 'a', v: '1' }]);
    expect(snapshotDone).toBe(false);
    const w = d.exec('put b 2'); // a write gathers behind it and waits its turn
    release();
    await Promise.all([snap, w]);
    expect(d.logStats()).toMatchObject({ snapshotSeq: 1, records: 1 });
    await d.close();
  });
});
