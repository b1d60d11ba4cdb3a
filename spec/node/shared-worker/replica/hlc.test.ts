import { describe, expect, it } from 'vitest';
import { HLC_COUNTER_SPAN, HybridLogicalClock, hlcFromMs, hlcToMs } from '../../../../shared-worker/replica/hlc.js';

function clockAt(t: number, drift = 300_000) {
  const wall = { t };
  return { wall, clock: new HybridLogicalClock(() => wall.t, drift) };
}

describe('hybrid logical clock', () => {
  it('encodes wall ms * 1024 + counter', () => {
    const { clock } = clockAt(1_000);
    expect(clock.tick()).toBe(1_000 * 1024);
    expect(clock.tick()).toBe(1_000 * 1024 + 1);
    expect(hlcToMs(1_000 * 1024 + 1023)).toBe(1_000);
  });

  it('stays monotonic when the wall clock goes backwards', () => {
    const { wall, clock } = clockAt(50_000);
    const a = clock.tick();
    wall.t = 10_000;
    const b = clock.tick();
    const c = clock.tick();
    expect(b).toBeGreaterThan(a);
    expect(c).toBe(b + 1);
    wall.t = 60_000;
    expect(clock.tick()).toBe(hlcFromMs(60_000));
  });

  it('carries counter overflow into the millisecond part', () => {
    const { clock } = clockAt(7);
    let last = 0;
    for (let i = 0; i < HLC_COUNTER_SPAN + 5; i++) last = clock.tick();
    expect(hlcToMs(last)).toBe(8);
    expect(last % HLC_COUNTER_SPAN).toBe(4);
  });

  it('observe() moves past a remote stamp', () => {
    const { clock } = clockAt(1_000);
    clock.observe(hlcFromMs(2_000) + 17);
    expect(clock.tick()).toBe(hlcFromMs(2_000) + 18);
  });

  it('refuses a stamp further ahead than maxClockDriftMs and leaves the clock untouched', () => {
    const { clock } = clockAt(1_000_000, 5_000);
    const first = clock.tick();
    expect(() => clock.observe(hlcFromMs(1_000_000 + 5_001))).toThrow(expect.objectContaining({ code: 'SKEW' }));
    expect(clock.current()).toBe(first);
    expect(clock.tick()).toBe(first + 1);
    clock.observe(hlcFromMs(1_000_000 + 5_000) + 1023);
    expect(clock.current()).toBe(hlcFromMs(1_005_000) + 1023);
  });

  it('a clock reading of 0 or garbage still yields increasing stamps', () => {
    const { wall, clock } = clockAt(0);
    const a = clock.tick();
    wall.t = Number.NaN;
    expect(clock.tick()).toBe(a + 1);
  });
});
