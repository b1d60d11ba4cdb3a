/**
 * An in-memory Web Locks manager (exclusive mode only): FIFO queue per name, AbortSignal to
 * leave the queue, the lock held until the callback's promise settles, query() of held names.
 */
import type { LockManagerLike } from '../../../shared-worker/protocol/tab-lock.js';

interface Waiter {
  callback: (lock: unknown) => unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  signal?: AbortSignal;
}

export class FakeLocks implements LockManagerLike {
  private readonly held = new Set<string>();
  private readonly queues = new Map<string, Waiter[]>();

  request(name: string, options: { signal?: AbortSignal; ifAvailable?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
      const w: Waiter = { callback, resolve, reject, ...(options.signal ? { signal: options.signal } : {}) };
      const q = this.queues.get(name) ?? [];
      this.queues.set(name, q);
      q.push(w);
      options.signal?.addEventListener('abort', () => {
        const i = q.indexOf(w);
        if (i >= 0) {
          q.splice(i, 1);
          reject(new DOMException('aborted', 'AbortError'));
        }
      });
      this.pump(name);
    });
  }

  async query(): Promise<{ held: Array<{ name: string }> }> {
    return { held: [...this.held].map((name) => ({ name })) };
  }

  isHeld(name: string): boolean {
    return this.held.has(name);
  }

  private pump(name: string): void {
    if (this.held.has(name)) return;
    const w = this.queues.get(name)?.shift();
    if (!w) return;
    this.held.add(name);
    queueMicrotask(async () => {
      try {
        w.resolve(await w.callback({ name }));
      } catch (e) {
        w.reject(e);
      } finally {
        this.held.delete(name);
        this.pump(name);
      }
    });
  }
}
