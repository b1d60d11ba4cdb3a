/**
 * Tab liveness through Web Locks. A tab holds `rtc-battery:tab:<tabId>` for its whole life; the
 * browser releases it when the tab closes, crashes or is discarded. Whoever needs to learn that
 * (the worker, or tabs relayed through a leader tab in dedicated mode) requests the same lock:
 * being granted it means the holder is gone. MessagePorts give no such signal (no close event
 * in Chrome before 2024 and none in Safari), which is why this exists.
 */

/** The slice of `navigator.locks` used here, so Node tests can pass a fake. */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal; ifAvailable?: boolean }, callback: (lock: unknown) => Promise<unknown> | unknown): Promise<unknown>;
  query?(): Promise<{ held?: Array<{ name?: string }> }>;
}

export function tabLockName(tabId: string): string {
  return `rtc-battery:tab:${tabId}`;
}

export function locksOf(scope: unknown): LockManagerLike | null {
  const nav = (scope as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? null;
}

/** Takes lock `name` for as long as the caller lives; resolves once held. The returned function releases it. */
export async function holdLock(locks: LockManagerLike, name: string): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await new Promise<void>((granted, fail) => {
    locks.request(name, {}, () => {
      granted();
      return held;
    }).catch(fail);
  });
  return release;
}

/** Takes the tab's lock; resolves once it is held. The returned function releases it. */
export function holdTabLock(locks: LockManagerLike, tabId: string): Promise<() => void> {
  return holdLock(locks, tabLockName(tabId));
}

/** Calls `onFree` once whoever holds lock `name` has let go of it (or died). The returned function cancels. */
export function whenLockFree(locks: LockManagerLike, name: string, onFree: () => void): () => void {
  const abort = new AbortController();
  locks
    .request(name, { signal: abort.signal }, () => {
      if (!abort.signal.aborted) onFree();
    })
    .catch(() => {
      /* aborted on purpose */
    });
  return () => abort.abort();
}

/** Calls `onGone` once the tab holding `tabId`'s lock is gone. The returned function cancels. */
export function whenTabGone(locks: LockManagerLike, tabId: string, onGone: () => void): () => void {
  return whenLockFree(locks, tabLockName(tabId), onGone);
}

/**
 * whenTabGone for a tab that may not hold its lock: our own tabs take it before hello, but a
 * raw client (a test page, an older bundle) may not, and watching an unheld lock would report
 * it dead at once. Such a tab is watched only if `query()` shows the lock held; otherwise it
 * leaves by `bye` alone (reported through `unwatched`).
 */
export function whenLockedTabGone(locks: LockManagerLike, tabId: string, onGone: () => void, unwatched?: (tabId: string) => void): () => void {
  if (!locks.query) return whenTabGone(locks, tabId, onGone);
  let cancelled = false;
  let cancel = () => {};
  locks.query().then(
    (state) => {
      if (cancelled) return;
      if (state.held?.some((l) => l.name === tabLockName(tabId))) cancel = whenTabGone(locks, tabId, onGone);
      else unwatched?.(tabId);
    },
    () => {
      if (!cancelled) cancel = whenTabGone(locks, tabId, onGone);
    },
  );
  return () => {
    cancelled = true;
    cancel();
  };
}
