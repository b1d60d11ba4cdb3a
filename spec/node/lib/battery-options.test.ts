import { describe, expect, it } from 'vitest';
import { DEFAULT_DB_NAME, DEFAULT_REQUEST_TIMEOUT_MS, resolveOptions } from '../../../lib/battery-options.js';

/** 22 base64url characters: 132 bits by the token rule. */
const STRONG_TOKEN = 'aV3x-9qT_2mPz8Lr0bWc4k';
const defaults = { workerUrl: () => 'http://127.0.0.1/dist/battery-worker.js', wasmUrl: () => 'http://127.0.0.1/dist/sql-wasm.wasm' };

describe('connectBattery options', () => {
  it('fills in the documented defaults', () => {
    expect(resolveOptions(undefined, defaults)).toEqual({
      dbName: DEFAULT_DB_NAME, workerUrl: defaults.workerUrl(), wasmUrl: defaults.wasmUrl(),
      mode: 'auto', durability: 'strict', requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, allowWeakToken: false,
    });
    expect(DEFAULT_DB_NAME).toBe('ledger-default');
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
  });

  it('keeps given values and turns URL objects into strings', () => {
    const o = resolveOptions({
      dbName: 'app', signalingUrl: 'ws://127.0.0.1:9000/peer', token: STRONG_TOKEN, iceServers: [{ urls: 'placeholder.invalid', username: 'u' }],
      workerUrl: new URL('http://127.0.0.1/w.js'), mode: 'dedicated', durability: 'relaxed', maxClockDriftMs: 1000, requestTimeoutMs: 5,
    }, defaults);
    expect(o).toMatchObject({
      dbName: 'app', signalingUrl: 'ws://127.0.0.1:9000/peer', token: STRONG_TOKEN, iceServers: [{ urls: 'placeholder.invalid', username: 'u' }],
      workerUrl: 'http://127.0.0.1/w.js', mode: 'dedicated', durability: 'relaxed', maxClockDriftMs: 1000, requestTimeoutMs: 5,
    });
  });

  it.each([
    ['dbName', 42],
    ['dbName', ''],
    ['signalingUrl', {}],
    ['token', 7],
    ['token', 'secret'],
    ['token', 'aV3x-9qT_2mPz8Lr0bWc4'],
    ['allowWeakToken', 'yes'],
    ['iceServers', 'not-an-array'],
    ['iceServers', [{ url: 'x' }]],
    ['workerUrl', 3],
    ['wasmUrl', ''],
    ['mode', 'worker'],
    ['durability', 'eventual'],
    ['maxClockDriftMs', -1],
    ['maxClockDriftMs', 0],
    ['maxClockDriftMs', Infinity],
    ['maxClockDriftMs', Number.NaN],
    ['maxClockDriftMs', 24 * 3_600_000 + 1],
    ['maxClockDriftMs', '1000'],
    ['requestTimeoutMs', 'soon'],
    ['requestTimeoutMs', Infinity],
  ])('refuses %s = %j with BAD_OP naming it', (option, value) => {
    let error: unknown;
    try {
      resolveOptions({ [option]: value }, defaults);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'BatteryError', code: 'BAD_OP', detail: { option } });
    expect((error as Error).message).toContain(option);
  });

  it.each(['dbNmae', 'DBName', 'signallingUrl', 'secret', 'constructor', '__proto__x'])('refuses the unknown option %s, naming it', (option) => {
    let error: unknown;
    try {
      resolveOptions({ [option]: 'x' }, defaults);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'BatteryError', code: 'BAD_OP', detail: { option } });
    expect((error as Error).message).toContain(`unknown option "${option}"`);
  });

  it('debug: off by default, true writes to console.debug, a function receives the diagnostics, anything else is refused', () => {
    expect(resolveOptions({}, defaults).diagnostics).toBeUndefined();
    expect(resolveOptions({ debug: false }, defaults).diagnostics).toBeUndefined();
    const seen: string[] = [];
    const original = console.debug;
    console.debug = (m: string) => seen.push(m);
    try {
      resolveOptions({ debug: true }, defaults).diagnostics!({ area: 'mesh', message: 'signaling open' });
    } finally {
      console.debug = original;
    }
    expect(seen).toEqual(['[rtc-battery] mesh: signaling open']);
    const sink = () => {};
    expect(resolveOptions({ debug: sink }, defaults).diagnostics).toBe(sink);
    expect(() => resolveOptions({ debug: 'yes' }, defaults)).toThrow(expect.objectContaining({ code: 'BAD_OP', detail: { option: 'debug' } }));
  });

  it('refuses options that are not an object', () => {
    expect(() => resolveOptions('ledger', defaults)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
  });
});
