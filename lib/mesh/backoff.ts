/**
 * Retry delays for the signaling socket: exponential from 500 ms, capped at 15 s, with ±20%
 * jitter so a room whose server restarted does not reconnect in lockstep. Attempts are counted
 * from 1. With these numbers a server back within 1 s is rejoined on attempt 2 (~1 s), and a
 * minute-long outage costs at most one extra 15 s wait after it ends.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay added or removed at random (0.2 = ±20%). */
  jitter: number;
}

export const SIGNALING_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 15_000, jitter: 0.2 };

/** `random` returns a number in [0, 1) (Math.random, or a seeded generator in tests). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = SIGNALING_BACKOFF, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** 30 already exceeds any cap; clamping the exponent keeps the arithmetic finite.
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 30));
  const spread = raw * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(raw + spread));
}
