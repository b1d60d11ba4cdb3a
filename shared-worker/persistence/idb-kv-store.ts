/**
 * The browser's KeyValueStore: idb-keyval with one IndexedDB database per dbName, so two
 * databases of one origin never share (or lock) each other's object store.
 */
import { createStore, get, getMany, promisifyRequest, type UseStore } from 'idb-keyval';
import { BatteryError, isBatteryError } from '../protocol/errors.js';
import type { KeyValueStore, KeyValueWrite } from './kv-store.js';

export interface IdbKeyValueStoreOptions {
  /**
   * The durability hint of every transaction. 'strict': the browser flushes to disk before the
   * transaction completes, so an acknowledged write also survives an OS crash or power loss;
   * 'relaxed': it completes once the OS has the data (a killed tab or worker still loses nothing).
   * Unset: the browser's default, which Chrome changed from strict to relaxed in Chrome 121
   * (developer.chrome.com/blog/indexeddb-durability-mode-now-defaults-to-relaxed); Firefox and
   * Safari default to relaxed.
   */
  durability?: IDBTransactionDurability;
  /** Replaces idb-keyval's createStore (tests wrap the object store to simulate a full disk). */
  useStore?: UseStore;
}

export class IdbKeyValueStore implements KeyValueStore {
  private readonly store: UseStore;
  private closed = false;

  constructor(readonly dbName: string, options: IdbKeyValueStoreOptions = {}) {
    const name = `rtc-battery:${dbName}`;
    this.store = options.useStore
      ?? (options.durability ? createStoreWithDurability(name, 'kv', options.durability) : createStore(name, 'kv'));
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    return this.guard(() => get<T>(key, this.store));
  }

  getMany<T = unknown>(keys: string[]): Promise<Array<T | undefined>> {
    return this.guard(() => getMany<T>(keys, this.store));
  }

  keys(prefix = ''): Promise<string[]> {
    return this.guard(() => this.store('readonly', (s) => Promise.all([
      // Most keys sort below prefix + U+FFFF; the cursor picks up the rare rest (prefix + U+FFFF...),
      // so the answer is exact without reading keys outside the prefix.
      promisifyRequest(s.getAllKeys(prefix === '' ? undefined : IDBKeyRange.bound(prefix, prefix + '\uffff'))),
      prefix === '' ? Promise.resolve([]) : keysAbove(s, prefix),
    ]).then(([head, tail]) => [...head, ...tail].filter((k): k is string => typeof k === 'string'))));
  }

  write(batch: KeyValueWrite): Promise<void> {
    return this.guard(() => this.store('readwrite', (s) => {
      try {
        for (const key of batch.del ?? []) s.delete(key);
        for (const [key, value] of batch.set ?? []) s.put(value, key);
      } catch (e) {
        // A put can throw synchronously (DataCloneError, or a quota check in some engines); the
        // requests already issued must not commit on their own, so the transaction is aborted.
        try { s.transaction.abort(); } catch { /* already finished */ }
        throw e;
      }
      return promisifyRequest(s.transaction);
    }).then(() => undefined));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // idb-keyval keeps the connection open and exposes no close(); the database handle is
    // reachable from any transaction. close() waits for running transactions to finish.
    await this.store('readonly', (s) => s.transaction.db.close()).catch(() => {}); // never opened: nothing to close
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new BatteryError('CLOSED', 'the key-value store is closed'));
    return op().catch((e: unknown) => { throw toStoreError(e); });
  }
}

/** idb-keyval's createStore, plus the transaction options it has no parameter for. */
function createStoreWithDurability(dbName: string, storeName: string, durability: IDBTransactionDurability): UseStore {
  let dbp: Promise<IDBDatabase> | undefined;
  const getDB = (): Promise<IDBDatabase> => {
    if (dbp) return dbp;
    const request = indexedDB.open(dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    const opened = promisifyRequest(request);
    dbp = opened;
    opened.then((db) => { db.onclose = () => { dbp = undefined; }; }, () => { dbp = undefined; });
    return opened;
  };
  return (txMode, callback) => getDB().then((db) => callback(db.transaction(storeName, txMode, { durability }).objectStore(storeName)));
}

function keysAbove(s: IDBObjectStore, prefix: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const out: string[] = [];
    const req = s.openKeyCursor(IDBKeyRange.lowerBound(prefix + '\uffff', true));
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cursor = req.result;
      if (cursor && typeof cursor.key === 'string' && cursor.key.startsWith(prefix)) {
        out.push(cursor.key);
        cursor.continue();
      } else {
        resolve(out);
      }
    };
  });
}

/**
 * Maps what IndexedDB rejects with to a BatteryError. A full disk shows up as a DOMException
 * named QuotaExceededError (spec; Chrome, Safari), either thrown by put() or as the aborted
 * transaction's `error`; old Firefox names it NS_ERROR_DOM_QUOTA_REACHED (code 1014). An abort
 * without an error (null) or any other failure becomes WORKER: the write did not happen either way.
 */
export function toStoreError(e: unknown): BatteryError {
  if (isBatteryError(e)) return e;
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const message = e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)
    ? String((e as { message: unknown }).message) : String(e);
  if (name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || code === 22 || code === 1014) {
    return new BatteryError('QUOTA', `storage quota exceeded: ${message}`);
  }
  if (e === null || e === undefined) return new BatteryError('WORKER', 'storage transaction aborted');
  return new BatteryError('WORKER', `storage failed: ${typeof name === 'string' ? name + ': ' : ''}${message}`);
}
