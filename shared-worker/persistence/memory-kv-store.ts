/**
 * The in-memory twin of the IndexedDB store (kv-store.ts seam), used by the Node tests and the
 * benchmarks. Besides a Map it can simulate what a browser's storage does to us:
 *   - a quota in bytes (the write that would pass it is refused with QUOTA, nothing of it lands),
 *   - injected failures (the next write(s) reject with a given error),
 *   - a crash: after N more writes the handle silently stops persisting, and those writes never
 *     settle, like a worker killed while its IndexedDB transaction was in flight.
 * Several handles may share one `data` Map: "reopen after a crash" is a new handle on the same Map.
 */
import { BatteryError } from '../protocol/errors.js';
import type { KeyValueStore, KeyValueWrite } from './kv-store.js';
import { MacrotaskQueue } from './macrotask-queue.js';

export interface MemoryKeyValueStoreOptions {
  /** Shared backing Map (default: a fresh one). Values are stored as structured clones. */
  data?: Map<string, unknown>;
  /** Refuse any write that would make the total size (see approximateSize) exceed this many bytes. */
  quotaBytes?: number;
}

export class MemoryKeyValueStore implements KeyValueStore {
  readonly data: Map<string, unknown>;
  quotaBytes: number;
  /** Number of write() calls made on this handle (tests count transactions with it). */
  writeCount = 0;
  private closed = false;
  private failures: Error[] = [];
  private writesUntilCrash = Infinity;
  private refuse: ((batch: KeyValueWrite) => boolean) | null = null;

  constructor(options: MemoryKeyValueStoreOptions = {}) {
    this.data = options.data ?? new Map();
    this.quotaBytes = options.quotaBytes ?? Infinity;
  }

  /** The next `count` writes reject with `error` (default QUOTA) and change nothing. */
  failNextWrites(count = 1, error: Error = quotaError()): void {
    for (let i = 0; i < count; i++) this.failures.push(error);
  }

  /** Every write for which `predicate` holds rejects with QUOTA (null: stop refusing). */
  refuseWrites(predicate: ((batch: KeyValueWrite) => boolean) | null): void {
    this.refuse = predicate;
  }

  /** After `writes` more successful writes, every later write is dropped and never settles. */
  crashAfterWrites(writes: number): void {
    this.writesUntilCrash = writes;
  }

  /** A fresh handle on the same data, as a restarted worker would open it. */
  reopen(options: Omit<MemoryKeyValueStoreOptions, 'data'> = {}): MemoryKeyValueStore {
    return new MemoryKeyValueStore({ data: this.data, ...options });
  }

  totalBytes(): number {
    let n = 0;
    for (const [k, v] of this.data) n += approximateSize(k) + approximateSize(v);
    return n;
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    this.assertOpen();
    return clone(this.data.get(key)) as T | undefined;
  }

  async getMany<T = unknown>(keys: string[]): Promise<Array<T | undefined>> {
    this.assertOpen();
    return keys.map((k) => clone(this.data.get(k)) as T | undefined);
  }

  async keys(prefix = ''): Promise<string[]> {
    this.assertOpen();
    // Default sort compares UTF-16 code units, which is also IndexedDB's order for string keys.
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  write(batch: KeyValueWrite): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.writeCount++;
    if (this.writesUntilCrash <= 0) return new Promise<void>(() => {});
    const failure = this.failures.shift() ?? (this.refuse?.(batch) ? quotaError({ refused: true }) : undefined);
    if (failure) return later(failure);
    let sets: Array<readonly [string, unknown]>;
    try {
      sets = (batch.set ?? []).map(([k, v]) => [k, clone(v)] as const);
    } catch (e) {
      // An uncloneable value (DataCloneError) fails the whole write, as in IndexedDB.
      return Promise.reject(new BatteryError('WORKER', `storage failed: ${(e as Error).message}`));
    }
    const dels = batch.del ?? [];
    if (this.quotaBytes !== Infinity) {
      let size = this.totalBytes();
      for (const k of dels) if (this.data.has(k)) size -= approximateSize(k) + approximateSize(this.data.get(k));
      for (const [k, v] of sets) {
        if (this.data.has(k) && !dels.includes(k)) size -= approximateSize(k) + approximateSize(this.data.get(k));
        size += approximateSize(k) + approximateSize(v);
      }
      if (size > this.quotaBytes) return later(quotaError({ quotaBytes: this.quotaBytes, wouldUse: size }));
    }
    // Deletes first, then puts: the order IdbKeyValueStore issues them in one transaction.
    for (const k of dels) this.data.delete(k);
    for (const [k, v] of sets) this.data.set(k, v);
    this.writesUntilCrash--;
    return later();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

/** Settles writes in order, each in a later macrotask (see later()). */
const settling = new MacrotaskQueue();

/**
 * Settles in a later macrotask, as an IndexedDB transaction does: code that forgets to wait for
 * the write, or that assumes a failure arrives at once, shows up in tests instead of passing.
 * A MessageChannel task, not setTimeout(0): Node clamps that timer to 1 ms and an awaited one
 * cost ~35-50 us of CPU (vs ~2 us), which made this twin, not the library, most of a small
 * durable write's cost in the benchmarks. IndexedDB's completion events are tasks, not timers.
 */
function later(error?: Error): Promise<void> {
  return new Promise((resolve, reject) => settling.schedule(() => (error ? reject(error) : resolve())));
}

function closedError(): BatteryError {
  return new BatteryError('CLOSED', 'the key-value store is closed');
}

function quotaError(detail?: Record<string, unknown>): BatteryError {
  return new BatteryError('QUOTA', 'storage quota exceeded (simulated)', detail);
}

/** Byte estimate used for the simulated quota: exact for byte arrays, UTF-16 for strings. */
function approximateSize(v: unknown): number {
  if (v instanceof Uint8Array) return v.byteLength;
  if (typeof v === 'string') return v.length * 2;
  if (v === undefined) return 0;
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? 'x'.repeat(x.byteLength) : x)).length * 2;
}

function clone<T>(v: T): T {
  // A plain byte array that is its whole buffer (log entries, snapshot pieces) clones as a copy of
  // it, as structuredClone would, without the serializer's cost (~60 us against ~30 us CPU cold).
  // A view on part of a bigger buffer goes through structuredClone, which copies the whole buffer
  // as IndexedDB does.
  if (v instanceof Uint8Array && v.constructor === Uint8Array && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) {
    return v.slice() as T;
  }
  return v === undefined ? v : structuredClone(v);
}
