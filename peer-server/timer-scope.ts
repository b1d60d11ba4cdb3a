/**
 * npm `peer` 1.0.2 starts two sweeps when it is mounted (broken-connection check every 300 ms,
 * expired-message pruning every 1 s). Each re-arms itself with the global `setTimeout` from its
 * own callback, and nothing exposes a way to stop them, so after `close()` they would keep the
 * Node process alive forever and keep sweeping an empty realm.
 *
 * A scope runs a function with `setTimeout` swapped for a tracking version, and runs every
 * tracked timer's callback inside the scope again, so the sweeps' re-arms are tracked too.
 * `stop()` clears them all. The swap lasts only for those synchronous calls; timers other code
 * creates during them (ws's close timer, when a sweep closes a dead socket) are tracked as well,
 * which is harmless: `stop()` runs after every socket is closed.
 */
export interface TimerScope {
  run<T>(fn: () => T): T;
  stop(): void;
  /** Timers armed in the scope and not yet fired or cleared by the scope. */
  readonly armed: number;
}

export function createTimerScope(): TimerScope {
  const armed = new Set<ReturnType<typeof setTimeout>>();
  const realSetTimeout = globalThis.setTimeout;
  let stopped = false;

  const scopedSetTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer = realSetTimeout(() => {
      armed.delete(timer);
      if (!stopped) run(() => callback(...args));
    }, ms);
    if (stopped) clearTimeout(timer);
    else armed.add(timer);
    return timer;
  };

  function run<T>(fn: () => T): T {
    const previous = globalThis.setTimeout;
    globalThis.setTimeout = scopedSetTimeout as typeof setTimeout;
    try {
      return fn();
    } finally {
      globalThis.setTimeout = previous;
    }
  }

  return {
    run,
    stop() {
      stopped = true;
      for (const timer of armed) clearTimeout(timer);
      armed.clear();
    },
    get armed() {
      return armed.size;
    },
  };
}
