import type { SyncTimers } from './sync-timers.js';

/**
 * Pings every `intervalMs`; when nothing was heard for `intervalMs * missedAllowed`, calls
 * `onSilent` instead (the link is dead or the peer is wedged) and stops.
 */
export class Heartbeat {
  private lastHeard: number;
  private timer: unknown = null;
  private pings = 0;

  constructor(
    private readonly timers: SyncTimers,
    private readonly intervalMs: number,
    private readonly missedAllowed: number,
    private readonly ping: (n: number) => void,
    private readonly onSilent: () => void,
  ) {
    this.lastHeard = timers.now();
  }

  heard(): void {
    this.lastHeard = this.timers.now();
  }

  start(): void {
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.timers.now() - this.lastHeard > this.intervalMs * this.missedAllowed) return this.onSilent();
      this.ping(this.pings++);
      this.start();
    }, this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
