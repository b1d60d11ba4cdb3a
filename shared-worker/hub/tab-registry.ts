/**
 * The tabs a hub serves, by tab id, with the port to reach each one. A tab leaves when it says
 * `bye` or when its liveness watch (its Web Lock, see protocol/tab-lock.ts) reports it gone.
 */
import type { WirePort, WorkerToTab } from '../protocol/worker-protocol.js';

export interface TabLiveness {
  /** Calls onGone once when the tab is gone; the returned function stops watching. */
  watch(tabId: string, onGone: () => void): () => void;
}

/** For environments without Web Locks: tabs leave only by `bye`. */
export const noLiveness: TabLiveness = { watch: () => () => {} };

export interface TabEntry {
  readonly tabId: string;
  readonly port: WirePort<unknown, WorkerToTab>;
  readonly stopWatching: () => void;
}

export class TabRegistry {
  private readonly tabs = new Map<string, TabEntry>();

  constructor(private readonly liveness: TabLiveness) {}

  /** Adds (or re-attaches) a tab; `onGone` runs when its liveness watch fires. */
  add(tabId: string, port: WirePort<unknown, WorkerToTab>, onGone: () => void): TabEntry {
    this.tabs.get(tabId)?.stopWatching();
    const entry: TabEntry = { tabId, port, stopWatching: this.liveness.watch(tabId, onGone) };
    this.tabs.set(tabId, entry);
    return entry;
  }

  get(tabId: string): TabEntry | undefined {
    return this.tabs.get(tabId);
  }

  /** Forgets a tab; returns false if it was not (or no longer) registered with this port. */
  remove(tabId: string, port?: WirePort<unknown, WorkerToTab>): boolean {
    const entry = this.tabs.get(tabId);
    if (!entry || (port && entry.port !== port)) return false;
    entry.stopWatching();
    this.tabs.delete(tabId);
    return true;
  }

  all(): TabEntry[] {
    return [...this.tabs.values()];
  }

  get size(): number {
    return this.tabs.size;
  }
}
