/**
 * Hybrid logical clock. A stamp is one safe integer: wallMs * 1024 + counter. The 10-bit counter
 * orders events within one millisecond; when it overflows it simply carries into the millisecond
 * part (the clock runs up to 1 ms "ahead" per 1024 events, then real time catches up).
 * 2^53 / 1024 ms is 8.8e12 ms after 1970, i.e. the year ~2248, so a plain JS number suffices.
 */
import { isAcceptableClockDrift, MAX_CLOCK_DRIFT_MS } from '../protocol/clock-drift.js';
import { BatteryError } from '../protocol/errors.js';

const HLC_COUNTER_BITS = 10;
export const HLC_COUNTER_SPAN = 1 << HLC_COUNTER_BITS; // 1024
export const DEFAULT_MAX_CLOCK_DRIFT_MS = 300_000;

export function hlcFromMs(ms: number): number {
  return Math.floor(ms) * HLC_COUNTER_SPAN;
}

export function hlcToMs(hlc: number): number {
  return Math.floor(hlc / HLC_COUNTER_SPAN);
}

export function isValidHlc(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

export class HybridLogicalClock {
  private last = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxDriftMs: number = DEFAULT_MAX_CLOCK_DRIFT_MS,
  ) {
    if (!isAcceptableClockDrift(maxDriftMs)) {
      throw new BatteryError('BAD_OP', `maxClockDriftMs must be a number of ms above 0 and at most ${MAX_CLOCK_DRIFT_MS} (24 h), got ${String(maxDriftMs)}`, {
        maxClockDriftMs: String(maxDriftMs),
      });
    }
  }

  /** The newest stamp issued or observed. */
  current(): number {
    return this.last;
  }

  /** A new stamp, strictly above every stamp issued or observed so far, even if now() went back. */
  tick(): number {
    const wall = hlcFromMs(this.wallNow());
    this.last = wall > this.last ? wall : this.last + 1;
    if (!Number.isSafeInteger(this.last)) throw new BatteryError('SKEW', 'hybrid logical clock exhausted (stamp beyond 2^53)');
    return this.last;
  }

  /**
   * Throws SKEW when `remote` is more than maxDriftMs ahead of local wall time. Pure check: it
   * changes nothing, so callers can validate a whole batch before touching any state.
   */
  checkSkew(remote: number): void {
    const limit = hlcFromMs(this.wallNow() + this.maxDriftMs) + (HLC_COUNTER_SPAN - 1);
    if (remote > limit) {
      throw new BatteryError(
        'SKEW',
        `remote clock is ${hlcToMs(remote) - Math.floor(this.wallNow())} ms ahead of ours (limit ${this.maxDriftMs} ms)`,
        { remoteHlc: remote, maxClockDriftMs: this.maxDriftMs },
      );
    }
  }

  /** Moves the clock past a remote (or stored) stamp without the skew check; see checkSkew. */
  advancePast(stamp: number): void {
    if (stamp > this.last) this.last = stamp;
  }

  /** checkSkew + advancePast. */
  observe(remote: number): void {
    this.checkSkew(remote);
    this.advancePast(remote);
  }

  private wallNow(): number {
    const t = this.now();
    return Number.isFinite(t) && t > 0 ? t : 0;
  }
}
