import 'fake-indexeddb/auto';
import { createStore, type UseStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbKeyValueStore } from '../../../../shared-worker/persistence/idb-kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import type { KeyValueWrite } from '../../../../shared-worker/persistence/kv-store.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { open, openWatched } from './durable-helpers.js';

describe('storage refusing writes (QUOTA)', () => {
  it('rejects the whole group with QUOTA, rolls memory back, keeps reads working, recovers when space frees', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.exec('put kept 1');
    const heard: Commit[] = [];
    d.onCommit((c) => heard.push(c));

    store.quotaBytes = store.totalBytes(); // the disk is now full
    const a = d.exec('put lost1 x');
    const b = d.execLocal('note 7 lost too');
    const read = d.exec('get kept');
    const versionWithLost = d.getVersion();
    await expect(a).rejects.toMatchObject({ code: 'QUOTA' });
    await expect(b).rejects.toMatchObject({ code: 'QUOTA' });
    await expect(read).rejects.toMatchObject({ code: 'QUOTA' }); // it read state that never became durable

    // Reads keep working and no longer see the refused writes.
    expect((await d.exec('get lost1')).rows).toEqual([]);
    expect((await d.exec('get kept')).rows).toEqual([{ k: 'kept', v: '1' }]);
    expect(d.getVector()).toEqual({ [d.nodeId]: 1 });
    // Listeners never heard the refused commits, only a "re-read these tables" notice, and the
    // version did not go back below what callers may have seen.
    expect(heard.map((c) => [c.tables.sort(), c.changes])).toEqual([[['kv', 'notes'], null]]);
    expect(d.getVersion()).toBeGreaterThan(versionWithLost);

    // Still full: the next write is refused as well, and nothing sticks.
    await expect(d.exec('put lost2 y')).rejects.toMatchObject({ code: 'QUOTA' });

    store.quotaBytes = Infinity; // space freed
    await d.exec('put after 2');
    const versionAfter = d.getVersion();
    expect((await d.exec('get after')).rows).toHaveLength(1);
    await d.close();

    const again = await open(store.reopen());
    for (const [k, n] of [['kept', 1], ['after', 1], ['lost1', 0], ['lost2', 0]] as const) {
      expect((await again.exec(`get ${k}`)).rows).toHaveLength(n);
    }
    expect(again.getVector()).toEqual(d.getVector());
    expect(again.getVersion()).toBe(versionAfter);
    await again.close();
  });

  it('rejects writes issued while the rollback runs only if they fail themselves', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    store.failNextWrites(1);
    // Hold the failing write in flight until the second exec has run (not a timer: when the
    // twin settles is its own business).
    const write = store.write.bind(store);
    let inFlight!: () => void;
    const started = new Promise<void>((r) => { inFlight = r; });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    store.write = (batch) => {
      store.write = write;
      inFlight();
      return gate.then(() => write(batch));
    };
    const first = d.exec('put x 1');
    await started; // the group is in flight now
    const second = d.exec('put y 2'); // gathers behind the failing group: runs on top of it
    release();
    await expect(first).rejects.toMatchObject({ code: 'QUOTA' });
    await expect(second).rejects.toMatchObject({ code: 'QUOTA' });
    const third = d.exec('put z 3'); // issued during the rollback: waits for it, then succeeds
    await expect(third).resolves.toBeDefined();
    expect((await d.exec('get x')).rows).toEqual([]);
    expect((await d.exec('get z')).rows).toHaveLength(1);
    await d.close();
  });

  it('maps a full IndexedDB (fake-indexeddb) to QUOTA for the caller', async () => {
    let full = false;
    const inner = createStore('rtc-battery:quota-db', 'kv');
    const useStore: UseStore = (mode, cb) => inner(mode, (s) => cb(new Proxy(s, {
      get(target, prop) {
        if (prop === 'put' && full) return () => { throw new DOMException('full', 'QuotaExceededError'); };
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    })));
    const d = await open(new IdbKeyValueStore('quota-db', { useStore }));
    await d.exec('put a 1');
    full = true;
    await expect(d.exec('put b 2')).rejects.toMatchObject({ code: 'QUOTA' });
    expect((await d.exec('get b')).rows).toEqual([]);
    full = false;
    await d.exec('put c 3');
    await d.close();
    const again = await open(new IdbKeyValueStore('quota-db'));
    expect([(await again.exec('get a')).rows.length, (await again.exec('get b')).rows.length, (await again.exec('get c')).rows.length]).toEqual([1, 0, 1]);
    await again.close();
  });

  it('writes the log instead when storage refuses an optional snapshot, and tries again later', async () => {
    const store = new MemoryKeyValueStore();
    const { d, memory } = await openWatched(store, { snapshotEvery: { records: 3, bytes: 1 << 30 } });
    let refused = 0;
    const isSnapshot = (b: KeyValueWrite) => {
      // Either format: one `snap` value, or a background snapshot's `snap:<gen>:<i>` pieces.
      const snap = (b.set ?? []).some(([k]) => k === 'snap' || k.startsWith('snap:'));
      if (snap) refused++;
      return snap;
    };
    store.refuseWrites(isSnapshot);
    for (let i = 0; i < 20; i++) await d.exec(`put k${i} ${i}`); // hard threshold (12) passed: snapshots tried
    await d.settled();
    expect(d.logStats().snapshotSeq).toBe(0);
    expect((await store.keys('log:')).length).toBe(20);
    expect(refused).toBeGreaterThan(0); // snapshots were tried ...
    expect(refused).toBeLessThan(10); // ... but not after every write (backoff by a threshold)
    // A snapshot the commit itself needs (DDL) cannot fall back: refused and rolled back.
    await expect(d.exec('ddl; put d 1')).rejects.toMatchObject({ code: 'QUOTA' });
    expect((await d.exec('get d')).rows).toEqual([]);
    store.refuseWrites(null);
    for (let i = 20; i < 24; i++) await d.exec(`put k${i} ${i}`);
    await d.settled();
    expect(d.logStats().snapshotSeq).toBeGreaterThan(0); // retried once the log grew again
    const before = memory();
    await d.close();
    const reopened = await openWatched(store.reopen());
    const again = reopened.d;
    expect(reopened.memory()).toEqual(before);
    expect((await again.exec('get k19')).rows).toHaveLength(1);
    await again.close();
  });

  it('does not cache a peer vector that storage refused', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.setPeerVector('p', { p: 1 });
    store.failNextWrites(1);
    await expect(d.setPeerVector('p', { p: 2 })).rejects.toMatchObject({ code: 'QUOTA' });
    expect(d.getPeerVector('p')).toEqual({ p: 1 });
    await d.close();
  });

  it('closes cleanly when the final flush is refused', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    store.failNextWrites(1);
    const w = d.exec('put x 1');
    await d.close();
    await expect(w).rejects.toMatchObject({ code: 'QUOTA' });
    await expect(d.exec('get x')).rejects.toMatchObject({ code: 'CLOSED' });
    const again = await open(store.reopen());
    expect((await again.exec('get x')).rows).toEqual([]);
    await again.close();
  });

  it('fails to open a new database on a full disk with QUOTA', async () => {
    await expect(open(new MemoryKeyValueStore({ quotaBytes: 0 }))).rejects.toMatchObject({ code: 'QUOTA' });
  });
});
