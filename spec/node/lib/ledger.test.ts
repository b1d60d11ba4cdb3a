import { describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../../lib/emitter.js';
import type { Battery, BatteryEvents } from '../../../lib/battery.js';
import type { BatteryOptions } from '../../../lib/battery-options.js';
import { BatteryError } from '../../../shared-worker/protocol/errors.js';

// The real connectBattery needs a browser (SharedWorker, Web Locks, PeerJS); every test here
// passes a fake instead, and this mock proves the default is never reached by accident.
vi.mock('../../../lib/connect-battery.js', () => ({
  connectBattery: () => Promise.reject(new Error('connectBattery must not run in Node tests')),
}));
const { Ledger } = await import('../../../lib/ledger.js');

/** A Battery stand-in that records calls and lets the test emit events. */
function fakeBattery() {
  const events = new Emitter<BatteryEvents>();
  const calls: unknown[][] = [];
  let closed = false;
  const battery = {
    exec: async (sql: string, params?: unknown) => (calls.push(['exec', sql, params]), { columns: ['x'], rows: [{ x: 1 }] }),
    execLocal: async (sql: string, params?: unknown) => (calls.push(['execLocal', sql, params]), { columns: [], rows: [] }),
    enableSync: async (table: string) => void calls.push(['enableSync', table]),
    watch: (sql: string, params: unknown, cb: unknown) => (calls.push(['watch', sql, params, typeof cb]), () => calls.push(['unwatch'])),
    connect: async (url?: string, token?: string) => void calls.push(['connect', url, token]),
    disconnect: async () => void calls.push(['disconnect']),
    close: async () => {
      closed = true;
      calls.push(['close']);
    },
    getNodeId: () => '0123456789abcdef',
    getVersion: () => 7,
    getLocalVersion: () => 5,
    getPeers: () => ['room-peer'],
    isConnected: () => true,
    isLeader: () => false,
    on: events.on.bind(events),
    off: events.off.bind(events),
  };
  return { battery: battery as unknown as Battery, events, calls, isClosed: () => closed };
}

function ledgerWithFake(config: BatteryOptions = {}) {
  const fake = fakeBattery();
  const connect = vi.fn(async (_options?: BatteryOptions) => fake.battery);
  const ledger = new Ledger(config, connect);
  return { ledger, connect, ...fake };
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(BatteryError);
    return (e as BatteryError).code;
  }
  return undefined;
}

describe('new Ledger(config)', () => {
  it('accepts no config and the README options', () => {
    expect(() => new Ledger()).not.toThrow();
    expect(() => new Ledger({ dbName: 'my-app', signalingUrl: 'wss://signal.example/', token: 'aV3x-9qT_2mPz8Lr0bWc4k', iceServers: [{ urls: 'placeholder.invalid' }] })).not.toThrow();
  });

  it.each([
    ['dbName', { dbName: 42 }],
    ['dbName', { dbName: '' }],
    ['signalingUrl', { signalingUrl: 1 }],
    ['token', { token: {} }],
    ['iceServers', { iceServers: 'not-an-array' }],
    ['iceServers', { iceServers: [{ url: 'x' }] }],
    ['mode', { mode: 'turbo' }],
    ['dbNmae', { dbNmae: 'x' }],
    ['signallingUrl', { signallingUrl: 'ws://127.0.0.1:9/x' }],
  ])('refuses a bad %s at once, with BAD_OP naming the option', (option, config) => {
    let error: unknown;
    try {
      new Ledger(config as BatteryOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BatteryError);
    expect((error as BatteryError).code).toBe('BAD_OP');
    expect((error as BatteryError).message).toContain(option);
  });

  it('refuses a config that is not an object', () => {
    expect(() => new Ledger('my-app' as unknown as BatteryOptions)).toThrow(BatteryError);
  });
});

describe('before init()', () => {
  it('every method fails with a WORKER error that says to call init() first, and nothing is opened', async () => {
    const { ledger, connect } = ledgerWithFake();
    for (const call of [
      () => ledger.exec('SELECT 1'),
      () => ledger.execLocal('SELECT 1'),
      () => ledger.enableSync('notes'),
      () => ledger.connect('ws://127.0.0.1:9000/', 'room'),
      () => ledger.disconnect(),
    ]) {
      await expect(call()).rejects.toThrow(/before init\(\): await ledger\.init\(\) first/);
      expect(await codeOf(call())).toBe('WORKER');
    }
    for (const call of [
      () => ledger.getNodeId(),
      () => ledger.getVersion(),
      () => ledger.getLocalVersion(),
      () => ledger.getPeers(),
      () => ledger.isConnected(),
      () => ledger.isLeader(),
      () => ledger.watch('SELECT 1', [], () => {}),
    ]) {
      expect(call).toThrow(/before init\(\)/);
    }
    expect(connect).not.toHaveBeenCalled();
  });

  it('says "still running" to a call made while init() is pending', async () => {
    const { ledger } = ledgerWithFake();
    const init = ledger.init();
    expect(() => ledger.getNodeId()).toThrow(/while init\(\) is still running/);
    await init;
    expect(ledger.getNodeId()).toBe('0123456789abcdef');
  });

  it('close() before init() resolves and opens nothing', async () => {
    const { ledger, connect } = ledgerWithFake();
    await ledger.close();
    expect(connect).not.toHaveBeenCalled();
    expect(await codeOf(ledger.init())).toBe('WORKER');
  });
});

describe('init()', () => {
  it('passes the whole config to connectBattery, once, even when called concurrently', async () => {
    const config = { dbName: 'my-app', signalingUrl: 'ws://127.0.0.1:9000/', token: 'tok', allowWeakToken: true, mode: 'shared' as const };
    const { ledger, connect } = ledgerWithFake(config);
    await Promise.all([ledger.init(), ledger.init()]);
    await ledger.init();
    expect(connect).toHaveBeenCalledTimes(1);
    expect(connect.mock.calls[0]![0]).toEqual(config);
  });

  it('can be retried after it failed', async () => {
    const fake = fakeBattery();
    let attempts = 0;
    const ledger = new Ledger({}, async () => {
      if (++attempts === 1) throw new BatteryError('WORKER', 'worker script failed to load');
      return fake.battery;
    });
    expect(await codeOf(ledger.init())).toBe('WORKER');
    await ledger.init();
    expect(ledger.getVersion()).toBe(7);
  });

  it('close() during init() closes the handle that arrives afterwards', async () => {
    const fake = fakeBattery();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ledger = new Ledger({}, async () => {
      await gate;
      return fake.battery;
    });
    const init = ledger.init();
    const closing = ledger.close();
    release();
    expect(await codeOf(init)).toBe('WORKER');
    await closing;
    expect(fake.isClosed()).toBe(true);
  });
});

describe('after init()', () => {
  it('forwards every method to the handle with its arguments', async () => {
    const { ledger, calls } = ledgerWithFake();
    await ledger.init();
    expect(await ledger.exec('SELECT ? AS x', [1])).toEqual({ columns: ['x'], rows: [{ x: 1 }] });
    await ledger.execLocal('CREATE TABLE prefs (k TEXT)');
    await ledger.enableSync('notes');
    await ledger.connect('wss://signal.example/', 'room-token');
    await ledger.connect();
    await ledger.disconnect();
    const stop = ledger.watch('SELECT * FROM notes', null, () => {});
    stop();
    expect(calls).toEqual([
      ['exec', 'SELECT ? AS x', [1]],
      ['execLocal', 'CREATE TABLE prefs (k TEXT)', undefined],
      ['enableSync', 'notes'],
      ['connect', 'wss://signal.example/', 'room-token'],
      ['connect', undefined, undefined],
      ['disconnect'],
      ['watch', 'SELECT * FROM notes', null, 'function'],
      ['unwatch'],
    ]);
    expect([ledger.getNodeId(), ledger.getVersion(), ledger.getLocalVersion(), ledger.getPeers(), ledger.isConnected(), ledger.isLeader()])
      .toEqual(['0123456789abcdef', 7, 5, ['room-peer'], true, false]);
  });

  it('delivers every README event (and change/leader/error) to listeners added before and after init()', async () => {
    const { ledger, events } = ledgerWithFake();
    const seen: unknown[][] = [];
    ledger.on('sync', (count, peerId) => seen.push(['sync', count, peerId]));
    ledger.on('peer-join', (p) => seen.push(['peer-join', p]));
    await ledger.init();
    ledger.on('peer-ready', (p) => seen.push(['peer-ready', p]));
    ledger.on('peer-leave', (p) => seen.push(['peer-leave', p]));
    ledger.on('connected', () => seen.push(['connected']));
    ledger.on('disconnected', () => seen.push(['disconnected']));
    ledger.on('reconnecting', (n) => seen.push(['reconnecting', n]));
    ledger.on('reconnected', () => seen.push(['reconnected']));
    ledger.on('change', (t) => seen.push(['change', t]));
    ledger.on('leader', () => seen.push(['leader']));
    ledger.on('error', (e) => seen.push(['error', e.code]));
    events.emit('connected');
    events.emit('peer-join', 'p1');
    events.emit('peer-ready', 'p1');
    events.emit('sync', 3, 'p1');
    events.emit('change', ['notes']);
    events.emit('leader');
    events.emit('error', new BatteryError('AUTH', 'bad challenge'));
    events.emit('peer-leave', 'p1');
    events.emit('disconnected');
    events.emit('reconnecting', 2);
    events.emit('reconnected');
    expect(seen).toEqual([
      ['connected'], ['peer-join', 'p1'], ['peer-ready', 'p1'], ['sync', 3, 'p1'], ['change', ['notes']], ['leader'],
      ['error', 'AUTH'], ['peer-leave', 'p1'], ['disconnected'], ['reconnecting', 2], ['reconnected'],
    ]);
  });

  it('off() removes a listener', async () => {
    const { ledger, events } = ledgerWithFake();
    await ledger.init();
    const seen: string[] = [];
    const listener = (p: string) => seen.push(p);
    ledger.on('peer-join', listener);
    events.emit('peer-join', 'a');
    ledger.off('peer-join', listener);
    events.emit('peer-join', 'b');
    expect(seen).toEqual(['a']);
  });
});

describe('close()', () => {
  it('closes the handle once, then every call says it came after close()', async () => {
    const { ledger, calls, events } = ledgerWithFake();
    const seen: string[] = [];
    ledger.on('peer-join', (p) => seen.push(p));
    await ledger.init();
    await ledger.close();
    await ledger.close();
    expect(calls.filter((c) => c[0] === 'close')).toHaveLength(1);
    await expect(ledger.exec('SELECT 1')).rejects.toThrow(/after close\(\)/);
    expect(() => ledger.getPeers()).toThrow(/after close\(\)/);
    expect(await codeOf(ledger.init())).toBe('WORKER');
    events.emit('peer-join', 'late');
    expect(seen).toEqual([]);
  });
});
