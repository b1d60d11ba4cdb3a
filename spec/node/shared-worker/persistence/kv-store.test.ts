import 'fake-indexeddb/auto';
import { createStore, type UseStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbKeyValueStore, toStoreError } from '../../../../shared-worker/persistence/idb-kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { runStoreAcceptance } from './kv-store-acceptance.js';

let dbCounter = 0;

/** An object store whose put() throws what a full disk makes Chrome throw. */
function fullDiskStore(dbName: string): UseStore {
  const inner = createStore(`rtc-battery:${dbName}`, 'kv');
  return (mode, callback) => inner(mode, (s) => callback(new Proxy(s, {
    get(target, prop) {
      if (prop === 'put') return () => { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  })));
}

runStoreAcceptance({
  name: 'MemoryKeyValueStore',
  open: () => new MemoryKeyValueStore(),
  reopen: (s) => (s as MemoryKeyValueStore).reopen(),
  openFull: () => new MemoryKeyValueStore({ quotaBytes: 0 }),
});

runStoreAcceptance({
  name: 'IdbKeyValueStore (fake-indexeddb)',
  open: () => new IdbKeyValueStore(`acceptance-${++dbCounter}`),
  reopen: (s) => new IdbKeyValueStore((s as IdbKeyValueStore).dbName),
  openFull: () => {
    const name = `acceptance-full-${++dbCounter}`;
    return new IdbKeyValueStore(name, { useStore: fullDiskStore(name) });
  },
});

describe('IdbKeyValueStore specifics', () => {
  it('keeps one IndexedDB database per dbName', async () => {
    const a = new IdbKeyValueStore('one');
    const b = new IdbKeyValueStore('two');
    await a.write({ set: [['k', 'a']] });
    await b.write({ set: [['k', 'b']] });
    expect([await a.get('k'), await b.get('k')]).toEqual(['a', 'b']);
    const names = (await indexedDB.databases()).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['rtc-battery:one', 'rtc-battery:two']));
    await a.close();
    await b.close();
  });

  it('passes the durability hint to every transaction when one is set', async () => {
    const seen: Array<IDBTransactionOptions | undefined> = [];
    const original = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, names: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
      // (fake-indexeddb opens its versionchange transaction through the same method)
      if (this.name === 'rtc-battery:durable-strict' && mode !== 'versionchange') seen.push(options);
      return original.call(this, names, mode, options);
    } as typeof original;
    try {
      const strict = new IdbKeyValueStore('durable-strict', { durability: 'strict' });
      await strict.write({ set: [['k', 1]] });
      expect(await strict.get('k')).toBe(1);
      await strict.close();
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen).toEqual(seen.map(() => ({ durability: 'strict' })));
      // The same database opened without a hint sees the data (one database per dbName either way).
      const plain = new IdbKeyValueStore('durable-strict');
      expect(await plain.get('k')).toBe(1);
      await plain.close();
    } finally {
      IDBDatabase.prototype.transaction = original;
    }
  });

  it('maps every known spelling of a full disk to QUOTA and anything else to WORKER', () => {
    expect(toStoreError(new DOMException('x', 'QuotaExceededError')).code).toBe('QUOTA');
    // An aborted transaction's `error` as old Firefox reports it.
    expect(toStoreError({ name: 'NS_ERROR_DOM_QUOTA_REACHED', message: 'x', code: 1014 }).code).toBe('QUOTA');
    expect(toStoreError({ name: 'Error', message: 'x', code: 22 }).code).toBe('QUOTA');
    expect(toStoreError(null).code).toBe('WORKER');
    expect(toStoreError(new DOMException('x', 'DataCloneError')).code).toBe('WORKER');
    expect(toStoreError(new DOMException('x', 'UnknownError')).message).toContain('UnknownError');
  });
});

describe('MemoryKeyValueStore fault injection', () => {
  it('fails the next writes on request and then works again', async () => {
    const store = new MemoryKeyValueStore();
    store.failNextWrites(2);
    await expect(store.write({ set: [['a', 1]] })).rejects.toMatchObject({ code: 'QUOTA' });
    await expect(store.write({ set: [['a', 1]] })).rejects.toMatchObject({ code: 'QUOTA' });
    await store.write({ set: [['a', 1]] });
    expect(await store.get('a')).toBe(1);
  });

  it('enforces a byte quota counting what a write frees', async () => {
    const store = new MemoryKeyValueStore({ quotaBytes: 1000 });
    await store.write({ set: [['a', new Uint8Array(900)]] });
    await expect(store.write({ set: [['b', new Uint8Array(200)]] })).rejects.toMatchObject({ code: 'QUOTA' });
    await store.write({ del: ['a'], set: [['b', new Uint8Array(200)]] });
    expect(await store.keys()).toEqual(['b']);
  });

  it('stops persisting after a crash point and never settles the lost writes', async () => {
    const store = new MemoryKeyValueStore();
    store.crashAfterWrites(1);
    await store.write({ set: [['a', 1]] });
    let settled = false;
    void store.write({ set: [['b', 2]] }).finally(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(false);
    expect(await store.reopen().keys()).toEqual(['a']);
  });
});
