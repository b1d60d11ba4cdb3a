/**
 * The storage seam. In the browser: idb-keyval with one IndexedDB database per dbName
 * (idb-kv-store.ts); in Node tests: a Map (memory-kv-store.ts). A `write` is one transaction:
 * all of it lands or none of it does.
 */
export interface KeyValueWrite {
  set?: Array<[key: string, value: unknown]>;
  del?: string[];
}

export interface KeyValueStore {
  get<T = unknown>(key: string): Promise<T | undefined>;
  getMany<T = unknown>(keys: string[]): Promise<Array<T | undefined>>;
  /** Keys that start with `prefix`, sorted ascending. */
  keys(prefix?: string): Promise<string[]>;
  /** Applies every set and delete in one transaction. Rejects with BatteryError('QUOTA') when storage is full. */
  write(batch: KeyValueWrite): Promise<void>;
  close(): Promise<void>;
}
