import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTimerScope } from '../../../peer-server/timer-scope.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('createTimerScope', () => {
  it('tracks timers armed in the scope and the ones their callbacks re-arm, and stop() clears them', () => {
    vi.useFakeTimers();
    const scope = createTimerScope();
    let ticks = 0;
    const sweep = (): void => {
      setTimeout(() => {
        ticks += 1;
        sweep(); // re-arms from inside its own callback, like peer's sweeps
      }, 300);
    };
    scope.run(sweep);
    expect(scope.armed).toBe(1);
    vi.advanceTimersByTime(900);
    expect(ticks).toBe(3);
    expect(scope.armed).toBe(1);
    scope.stop();
    expect(scope.armed).toBe(0);
    vi.advanceTimersByTime(3000);
    expect(ticks).toBe(3);
  });

  it('leaves timers created outside the scope alone and restores setTimeout', () => {
    vi.useFakeTimers();
    const before = globalThis.setTimeout;
    const scope = createTimerScope();
    let outside = 0;
    scope.run(() => undefined);
    expect(globalThis.setTimeout).toBe(before);
    setTimeout(() => (outside += 1), 10);
    expect(scope.armed).toBe(0);
    scope.stop();
    vi.advanceTimersByTime(10);
    expect(outside).toBe(1);
  });

  it('restores setTimeout even when the scoped function throws', () => {
    const before = globalThis.setTimeout;
    const scope = createTimerScope();
    expect(() =>
      scope.run(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(globalThis.setTimeout).toBe(before);
  });

  it('passes extra arguments through and returns the result of run', () => {
    vi.useFakeTimers();
    const scope = createTimerScope();
    const seen: unknown[] = [];
    const result = scope.run(() => {
      setTimeout((x: unknown, y: unknown) => seen.push(x, y), 5, 'a', 2);
      return 42;
    });
    expect(result).toBe(42);
    vi.advanceTimersByTime(5);
    expect(seen).toEqual(['a', 2]);
  });
});
