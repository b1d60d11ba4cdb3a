/**
 * Leader election among the tabs of one dbName with a Web Lock (`rtc-battery:leader:<dbName>`):
 * every tab queues for it; the browser grants it to one tab at a time and hands it to the next
 * queued tab as soon as the holder closes, crashes or is discarded (in Chrome that is immediate
 * on tab close, well inside the 2 s the design asks for). A frozen holder keeps the lock; the
 * worker's epochs (shared-worker/hub/leader-link.ts) protect against one that thaws after a steal.
 */
import type { LockManagerLike } from '../shared-worker/protocol/tab-lock.js';

function leaderLockName(dbName: string): string {
  return `rtc-battery:leader:${dbName}`;
}

export interface Candidacy {
  /** Leaves the queue, or gives up leadership if held. */
  resign(): void;
  readonly isLeader: boolean;
}

/**
 * Queues for leadership; `onElected` runs once when this tab gets the lock. Without Web Locks
 * (no browser that has SharedWorker or module workers lacks them) the tab leads at once: with no
 * way to coordinate, a lone tab is the only safe assumption.
 */
export function standForLeader(locks: LockManagerLike | null, dbName: string, onElected: () => void): Candidacy {
  let leader = false;
  let release: (() => void) | null = null;
  const abort = new AbortController();
  if (!locks) {
    leader = true;
    queueMicrotask(onElected);
    return { resign: () => { leader = false; }, get isLeader() { return leader; } };
  }
  locks
    .request(leaderLockName(dbName), { signal: abort.signal }, () => {
      if (abort.signal.aborted) return undefined;
      leader = true;
      const held = new Promise<void>((resolve) => (release = resolve));
      onElected();
      return held;
    })
    .catch(() => {
      /* aborted by resign() */
    });
  return {
    resign() {
      abort.abort();
      leader = false;
      release?.();
    },
    get isLeader() {
      return leader;
    },
  };
}
