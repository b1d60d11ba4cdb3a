/**
 * How far ahead of local time a peer's stamp may be (`maxClockDriftMs`). The replica's clock
 * follows the newest stamp it accepted, so a peer may push it up to the bound ahead of real time;
 * local writes then count on from there until real time catches up. The bound keeps that finite
 * and small: 24 h is far beyond any honest skew, and 2^53 (where a stamp stops being a safe
 * integer) stays centuries away. Without it, `Infinity` or a huge bound let one stamp near 2^53
 * end every later local write with SKEW, also after reopening.
 */
export const MAX_CLOCK_DRIFT_MS = 24 * 60 * 60 * 1000;

/** A finite number of milliseconds above 0 and at most MAX_CLOCK_DRIFT_MS. */
export function isAcceptableClockDrift(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_CLOCK_DRIFT_MS;
}
