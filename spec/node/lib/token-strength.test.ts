import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../lib/battery-options.js';
import { estimateTokenBits, isStrongToken, MIN_TOKEN_BITS } from '../../../shared-worker/protocol/token-strength.js';
import { newTestBattery } from './battery-fixture.js';
import { Ledger } from '../../../lib/ledger.js';
import { BatteryError } from '../../../shared-worker/protocol/errors.js';

const defaults = { workerUrl: () => 'http://127.0.0.1/w.js', wasmUrl: () => 'http://127.0.0.1/x.wasm' };

describe('the token rule', () => {
  it('rates length × log2 of the smallest alphabet holding every character', () => {
    expect(estimateTokenBits('')).toBe(0);
    expect(estimateTokenBits('123456')).toBeCloseTo(6 * Math.log2(10));
    expect(estimateTokenBits('deadbeef')).toBe(32);
    expect(estimateTokenBits('anything')).toBeCloseTo(8 * Math.log2(36));
    expect(estimateTokenBits('AnyThing')).toBeCloseTo(8 * Math.log2(62));
    expect(estimateTokenBits('any-thing')).toBe(9 * 6);
    expect(estimateTokenBits('any thing')).toBeCloseTo(9 * Math.log2(95));
  });

  it('needs 128 bits: 22 base64url, 32 hex, 39 digits, 20 other characters', () => {
    expect(MIN_TOKEN_BITS).toBe(128);
    const cases: Array<[string, number]> = [['-', 22], ['f', 32], ['7', 39], ['z', 25], ['Z', 22], [' ', 20]];
    for (const [char, length] of cases) {
      expect(isStrongToken(char.repeat(length)), `${length} × ${JSON.stringify(char)}`).toBe(true);
      expect(isStrongToken(char.repeat(length - 1)), `${length - 1} × ${JSON.stringify(char)}`).toBe(false);
    }
    // What the demo and a UUID give.
    expect(isStrongToken('aV3x-9qT_2mPz8Lr0bWc4k')).toBe(true);
    expect(isStrongToken(crypto.randomUUID())).toBe(true);
  });
});

describe('connect refuses a weak token unless the caller opts in', () => {
  it('connectBattery options: BAD_OP naming the token option, never its value', () => {
    let error: unknown;
    try {
      resolveOptions({ token: 'hunter2-secret' }, defaults);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'BAD_OP', detail: { option: 'token' } });
    expect((error as Error).message).toMatch(/too weak.*allowWeakToken: true/);
    expect((error as Error).message).not.toContain('hunter2');
    expect(resolveOptions({ token: 'hunter2-secret', allowWeakToken: true }, defaults)).toMatchObject({ token: 'hunter2-secret', allowWeakToken: true });
  });

  it('new Ledger: a weak token in its config is refused at once, as a BatteryError; allowWeakToken opts in', () => {
    const weak = () => new Ledger({ token: '123456', signalingUrl: 'ws://127.0.0.1:9000/' });
    let error: unknown;
    try {
      weak();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BatteryError);
    expect(error).toMatchObject({ code: 'BAD_OP', detail: { option: 'token' } });
    expect(() => new Ledger({ token: '123456', allowWeakToken: true })).not.toThrow();
    // 128 bits of base64url, what the demo makes: accepted without opting in.
    expect(() => new Ledger({ token: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url') })).not.toThrow();
  });

  it('Battery.connect: a weak token given to connect() is refused before the worker hears of it', async () => {
    const db = newTestBattery('tab-weak');
    await expect(db.connect('ws://127.0.0.1:9000/peer', '123456')).rejects.toMatchObject({ code: 'BAD_OP', detail: { option: 'token' } });
    await db.close();
  });
});
