/**
 * `change` events on their way to tabs. A tab whose request is being served when a commit is
 * stored usually gets that request's response in the same task (the write it waited for is in
 * the same group): its change events then ride in the response (`changes`) instead of going as
 * separate messages. Each message between a tab and the worker is an IPC hop of its own, and for
 * a one-row write the extra `change` message cost about as much as the response itself.
 * Whatever is still held after the current task, or when anything else is posted to the tab,
 * goes out as plain messages first, so a tab sees its messages in the order they were made.
 */
import type { ChangeMessage, WirePort, WorkerToTab } from '../protocol/worker-protocol.js';

type TabPort = WirePort<unknown, WorkerToTab>;

export class ChangeOutbox {
  private readonly serving = new Map<string, number>();
  private readonly held = new Map<string, { port: TabPort; changes: ChangeMessage[] }>();
  private flushScheduled = false;

  /** `later` runs a callback in a later macrotask. */
  constructor(private readonly later: (fn: () => void) => void) {}

  /** A request of this tab is being served (its response will take what is held). */
  serve(tabId: string): void {
    this.serving.set(tabId, (this.serving.get(tabId) ?? 0) + 1);
  }

  /** That request is answered (call after take()). */
  served(tabId: string): void {
    const n = (this.serving.get(tabId) ?? 1) - 1;
    if (n > 0) this.serving.set(tabId, n);
    else this.serving.delete(tabId);
  }

  post(tabId: string, port: TabPort, change: ChangeMessage): void {
    if (!this.serving.has(tabId)) {
      this.flush(tabId);
      port.post(change);
      return;
    }
    let h = this.held.get(tabId);
    if (!h || h.port !== port) {
      this.flush(tabId);
      this.held.set(tabId, (h = { port, changes: [] }));
    }
    h.changes.push(change);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.later(() => {
        this.flushScheduled = false;
        for (const tabId of [...this.held.keys()]) this.flush(tabId);
      });
    }
  }

  /** The changes held for a response to this tab on `port` (none: undefined). */
  take(tabId: string, port: TabPort): ChangeMessage[] | undefined {
    const h = this.held.get(tabId);
    if (!h) return undefined;
    this.held.delete(tabId);
    if (h.port === port) return h.changes;
    for (const c of h.changes) h.port.post(c);
    return undefined;
  }

  /** Posts what is held for the tab now (before another message to it). */
  flush(tabId: string): void {
    const h = this.held.get(tabId);
    if (!h) return;
    this.held.delete(tabId);
    for (const c of h.changes) h.port.post(c);
  }

  forget(tabId: string): void {
    this.held.delete(tabId);
    this.serving.delete(tabId);
  }
}
