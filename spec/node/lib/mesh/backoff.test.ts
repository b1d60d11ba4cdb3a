import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelay, SIGNALING_BACKOFF } from '../../../../lib/mesh/backoff.js';

const SEED = 20261123;

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap without jitter', () => {
    const policy = { baseMs: 500, maxMs: 15_000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7, 50, 5000].map((a) => backoffDelay(a, policy))).toEqual([
      500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000, 15_000,
    ]);
  });

  it('treats attempts below 1 as the first', () => {
    expect(backoffDelay(0, { ...SIGNALING_BACKOFF, jitter: 0 })).toBe(500);
    expect(backoffDelay(-3, { ...SIGNALING_BACKOFF, jitter: 0 })).toBe(500);
  });

  it('stays within ±jitter of the nominal delay and never goes negative (seeded)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const nominal = backoffDelay(attempt, { ...SIGNALING_BACKOFF, jitter: 0 });
        const d = backoffDelay(attempt, SIGNALING_BACKOFF, () => r);
        expect(d).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
        expect(d).toBeLessThanOrEqual(Math.ceil(nominal * 1.2));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
