import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from '../../../peer-server/json-depth.js';
import { IdReservations } from '../../../peer-server/id-reservations.js';
import { MessageRate, QUEUE_HOLD_MS, QueuedBytesMeter } from '../../../peer-server/message-budget.js';

describe('MessageRate', () => {
  it('allows the burst at once, then refills at the rate', () => {
    let now = 1000;
    const rate = new MessageRate(2, 3, () => now);
    expect([rate.take(), rate.take(), rate.take(), rate.take()]).toEqual([true, true, true, false]);
    now += 499;
    expect(rate.take()).toBe(false);
    now += 1;
    expect([rate.take(), rate.take()]).toEqual([true, false]);
    now += 60_000; // a long silence refills to the burst, not beyond
    expect([rate.take(), rate.take(), rate.take(), rate.take()]).toEqual([true, true, true, false]);
  });
});

describe('QueuedBytesMeter', () => {
  it('holds bytes per address for QUEUE_HOLD_MS, then releases them', () => {
    let now = 0;
    const meter = new QueuedBytesMeter(100, 150, () => now);
    expect(meter.add('a', 60)).toBe(true);
    now = 10;
    expect(meter.add('a', 40)).toBe(true);
    expect(meter.add('a', 1)).toBe(false); // per address
    expect(meter.add('b', 50)).toBe(true);
    expect(meter.add('c', 1)).toBe(false); // overall
    expect([meter.queued('a'), meter.queued()]).toEqual([100, 150]);
    now = QUEUE_HOLD_MS - 1;
    expect(meter.add('a', 1)).toBe(false);
    now = QUEUE_HOLD_MS;
    expect([meter.queued('a'), meter.queued()]).toEqual([40, 90]);
    expect(meter.add('a', 60)).toBe(true);
    now = QUEUE_HOLD_MS + 10;
    expect([meter.queued('a'), meter.queued('b'), meter.queued()]).toEqual([60, 0, 60]);
  });

  it('stays exact over many entries (its array is compacted as it goes)', () => {
    let now = 0;
    const meter = new QueuedBytesMeter(1e9, 1e9, () => now);
    for (let i = 0; i < 10_000; i++) {
      now = i;
      meter.add(`x${i % 7}`, 3);
    }
    now = 9_999 + QUEUE_HOLD_MS - 100; // entries queued after i = 9,899 are still held
    expect(meter.queued()).toBe(100 * 3);
  });
});

describe('jsonDepthExceeds', () => {
  it('measures nesting without recursion', () => {
    expect(jsonDepthExceeds(1, 0)).toBe(false);
    expect(jsonDepthExceeds({}, 0)).toBe(true);
    expect(jsonDepthExceeds({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(jsonDepthExceeds({ a: [1, { b: {} }] }, 3)).toBe(true);
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(jsonDepthExceeds(deep, 16)).toBe(true);
    expect(jsonDepthExceeds(deep, 100_000)).toBe(false);
  });
});

describe('IdReservations', () => {
  it('holds an id for its token until the hold ends or it is registered again', () => {
    let now = 0;
    const held = new IdReservations(1000, 10, 100, () => now);
    held.hold('x', 'T', '10.0.0.1');
    expect([held.heldForOther('x', 'U'), held.heldForOther('x', 'T'), held.heldForOther('y', 'U')]).toEqual([true, false, false]);
    now = 999;
    expect(held.heldForOther('x', 'U')).toBe(true);
    now = 1000;
    expect([held.heldForOther('x', 'U'), held.size]).toEqual([false, 0]);
    held.hold('x', 'T', '10.0.0.1');
    held.release('x');
    expect(held.heldForOther('x', 'U')).toBe(false);
  });

  it('makes no new holds past the per-address or overall count, and never evicts one', () => {
    const held = new IdReservations(1000, 2, 3, () => 0);
    for (const id of ['a1', 'a2', 'a3']) held.hold(id, 'T', 'attacker');
    expect(['a1', 'a2', 'a3'].map((id) => held.heldForOther(id, 'U'))).toEqual([true, true, false]);
    held.hold('v1', 'T', 'victim');
    held.hold('b1', 'T', 'other');
    expect([held.heldForOther('v1', 'U'), held.heldForOther('b1', 'U'), held.size]).toEqual([true, false, 3]);
    held.release('a1');
    held.hold('a3', 'T', 'attacker');
    expect([held.heldForOther('a3', 'U'), held.size]).toEqual([true, 3]);
  });
});
