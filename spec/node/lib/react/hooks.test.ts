// @vitest-environment happy-dom
import { act, cleanup, render, renderHook } from '@testing-library/react';
import { createElement, Profiler, type ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { BatteryError } from '../../../../lib/index.js';
import { BatteryProvider, useBattery, usePeers, useQuery, useSyncState } from '../../../../lib/react/index.js';
import { FakeBattery } from './fake-battery.js';
import { SyncStateStore } from '../../../../lib/react/sync-state.js';

afterEach(cleanup);

function wrapperFor(fake: FakeBattery) {
  return ({ children }: { children?: ReactNode }) => createElement(BatteryProvider, { battery: fake.asBattery() }, children);
}

interface Note { id: string; body: string }

describe('useQuery', () => {
  it('loading, then the rows of the watch; a changed result re-renders, an equal one does not', () => {
    const fake = new FakeBattery();
    let renders = 0;
    const { result } = renderHook(() => {
      renders++;
      return useQuery<Note>('SELECT id, body FROM notes WHERE body LIKE ?', ['%a%']);
    }, { wrapper: wrapperFor(fake) });
    expect(result.current).toEqual({ rows: [], columns: [], error: null, loading: true });
    expect(fake.live()).toHaveLength(1);
    expect(fake.live()[0]).toMatchObject({ sql: 'SELECT id, body FROM notes WHERE body LIKE ?', params: ['%a%'] });

    act(() => fake.live()[0]!.callback({ columns: ['id', 'body'], rows: [{ id: 'n1', body: 'a' }] }));
    expect(result.current).toEqual({ rows: [{ id: 'n1', body: 'a' }], columns: ['id', 'body'], error: null, loading: false });
    const settled = renders;

    act(() => fake.live()[0]!.callback({ columns: ['id', 'body'], rows: [{ id: 'n1', body: 'a' }] }));
    expect(renders).toBe(settled);

    act(() => fake.live()[0]!.callback({ columns: ['id', 'body'], rows: [{ id: 'n1', body: 'a' }, { id: 'n2', body: 'ab' }] }));
    expect(renders).toBe(settled + 1);
    expect(result.current.rows.map((r) => r.id)).toEqual(['n1', 'n2']);
  });

  it('an equal result with different bytes is a change; equal bytes are not', () => {
    const fake = new FakeBattery();
    let renders = 0;
    renderHook(() => {
      renders++;
      return useQuery('SELECT b FROM blobs');
    }, { wrapper: wrapperFor(fake) });
    const w = fake.live()[0]!;
    act(() => w.callback({ columns: ['b'], rows: [{ b: new Uint8Array([1, 2]) }] }));
    const settled = renders;
    act(() => w.callback({ columns: ['b'], rows: [{ b: new Uint8Array([1, 2]) }] }));
    expect(renders).toBe(settled);
    act(() => w.callback({ columns: ['b'], rows: [{ b: new Uint8Array([1, 3]) }] }));
    expect(renders).toBe(settled + 1);
  });

  it('follows changed params (not a new array with the same values) and unsubscribes the old watch', () => {
    const fake = new FakeBattery();
    const { result, rerender } = renderHook(({ id }: { id: string }) => useQuery('SELECT * FROM notes WHERE id = ?', [id]), {
      wrapper: wrapperFor(fake), initialProps: { id: 'n1' },
    });
    act(() => fake.live()[0]!.callback({ columns: ['id'], rows: [{ id: 'n1' }] }));
    rerender({ id: 'n1' });
    expect(fake.watches).toHaveLength(1);

    rerender({ id: 'n2' });
    expect(fake.watches).toHaveLength(2);
    expect(fake.watches[0]!.stopped).toBe(true);
    expect(fake.live()[0]!.params).toEqual(['n2']);
    expect(result.current.loading).toBe(true);
    // a late answer of the old watch does not land in the new query's state
    act(() => fake.watches[0]!.callback({ columns: ['id'], rows: [{ id: 'stale' }] }));
    expect(result.current.loading).toBe(true);
    act(() => fake.live()[0]!.callback({ columns: ['id'], rows: [{ id: 'n2' }] }));
    expect(result.current).toMatchObject({ rows: [{ id: 'n2' }], loading: false });
  });

  it('unsubscribes on unmount', () => {
    const fake = new FakeBattery();
    const { unmount } = renderHook(() => useQuery('SELECT 1'), { wrapper: wrapperFor(fake) });
    expect(fake.live()).toHaveLength(1);
    unmount();
    expect(fake.live()).toHaveLength(0);
  });

  it('reports a watch error, and a watch that throws at once, as `error`', () => {
    const fake = new FakeBattery();
    const { result } = renderHook(() => useQuery('SELEKT'), { wrapper: wrapperFor(fake) });
    act(() => fake.live()[0]!.onError!(new BatteryError('SQL', 'near "SELEKT": syntax error')));
    expect(result.current).toMatchObject({ loading: false, error: { code: 'SQL' } });
    act(() => fake.live()[0]!.callback({ columns: ['x'], rows: [{ x: 1 }] }));
    expect(result.current).toMatchObject({ loading: false, error: null, rows: [{ x: 1 }] });

    const closed = new FakeBattery();
    closed.watch = () => {
      throw new BatteryError('WORKER', 'the battery is closed');
    };
    const { result: r2 } = renderHook(() => useQuery('SELECT 1'), { wrapper: wrapperFor(closed) });
    expect(r2.current).toMatchObject({ loading: false, error: { code: 'WORKER' } });
  });

  it('renders a component once per changed result (Profiler commit count)', () => {
    const fake = new FakeBattery();
    let commits = 0;
    function List() {
      const { rows } = useQuery<Note>('SELECT * FROM notes');
      return createElement('ul', null, rows.map((r) => createElement('li', { key: r.id }, r.body)));
    }
    const view = render(createElement(Profiler, { id: 'q', onRender: () => commits++ }, createElement(BatteryProvider, { battery: fake.asBattery() }, createElement(List))));
    act(() => fake.live()[0]!.callback({ columns: ['id', 'body'], rows: [{ id: 'a', body: 'first' }] }));
    expect(view.container.textContent).toBe('first');
    const after = commits;
    act(() => fake.live()[0]!.callback({ columns: ['id', 'body'], rows: [{ id: 'a', body: 'first' }] }));
    expect(commits).toBe(after);
  });
});

describe('BatteryProvider / useBattery', () => {
  it('useBattery outside a provider throws BAD_OP', () => {
    expect(() => renderHook(() => useBattery())).toThrow(/BatteryProvider/);
  });

  it('shares a given battery and does not close it', () => {
    const fake = new FakeBattery();
    const { result, unmount } = renderHook(() => useBattery(), { wrapper: wrapperFor(fake) });
    expect(result.current).toBe(fake);
    unmount();
    expect(fake.closed).toBe(0);
  });

  it('with options: renders the fallback, then refuses an unknown option through the error boundary', async () => {
    // connectBattery validates options before touching any browser API, so this runs in Node.
    const { ErrorBoundary } = await import('./error-boundary.js');
    const caught: unknown[] = [];
    const view = render(createElement(ErrorBoundary, { onError: (e: unknown) => caught.push(e) },
      createElement(BatteryProvider, { options: { dbNmae: 'x' } as never, fallback: 'opening…' }, 'ready')));
    expect(view.container.textContent).toBe('opening…');
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(caught).toHaveLength(1);
    expect(caught[0]).toMatchObject({ code: 'BAD_OP', detail: { option: 'dbNmae' } });
  });
});

describe('usePeers / useSyncState', () => {
  it('usePeers follows peer events and keeps its array while the peers are the same', () => {
    const fake = new FakeBattery();
    const { result } = renderHook(() => usePeers(), { wrapper: wrapperFor(fake) });
    expect(result.current).toEqual([]);
    fake.peers = ['room-a'];
    act(() => fake.events.emit('peer-ready', 'room-a'));
    expect(result.current).toEqual(['room-a']);
    const same = result.current;
    act(() => fake.events.emit('connected'));
    expect(result.current).toBe(same);
    fake.peers = [];
    act(() => fake.events.emit('peer-leave', 'room-a'));
    expect(result.current).toEqual([]);
  });

  it('useSyncState: signaling, each peer as getSyncState() and the mailbox as getMailboxState(), re-read on their events; listeners removed on unmount', () => {
    const fake = new FakeBattery();
    fake.syncState = [{ peerId: 'p0', state: 'caught-up', toSend: 0, toReceive: 0 }];
    const { result, unmount } = renderHook(() => useSyncState(), { wrapper: wrapperFor(fake) });
    expect(result.current).toEqual({ signaling: 'disconnected', attempt: null, peers: fake.syncState, mailbox: null });
    const p0 = fake.syncState[0]!;
    act(() => {
      fake.connected = true;
      fake.events.emit('connected');
      fake.syncState = [{ peerId: 'p2', state: 'connecting', toSend: 0, toReceive: 0 }, p0];
      fake.events.emit('sync-state', fake.getSyncState());
    });
    expect(result.current.signaling).toBe('connected');
    expect(result.current.peers).toEqual([p0, { peerId: 'p2', state: 'connecting', toSend: 0, toReceive: 0 }]);
    act(() => {
      fake.syncState = [p0, { peerId: 'p2', state: 'syncing', toSend: 7, toReceive: 40 }];
      fake.events.emit('sync-state', fake.getSyncState());
      fake.events.emit('reconnecting', 2);
    });
    expect(result.current.signaling).toBe('reconnecting');
    expect(result.current.attempt).toBe(2);
    expect(result.current.peers[1]).toEqual({ peerId: 'p2', state: 'syncing', toSend: 7, toReceive: 40 });
    act(() => {
      fake.mailbox = { state: 'online', progress: null };
      fake.events.emit('mailbox', 'online');
    });
    expect(result.current.mailbox).toEqual({ state: 'online', progress: null });
    act(() => {
      fake.mailbox = { state: 'online', progress: { phase: 'log', done: 5, total: 8 } };
      fake.events.emit('mailbox-progress', { phase: 'log', done: 5, total: 8 });
    });
    expect(result.current.mailbox).toEqual({ state: 'online', progress: { phase: 'log', done: 5, total: 8 } });
    act(() => {
      fake.syncState = [p0, { peerId: 'p2', state: 'caught-up', toSend: 0, toReceive: 0 }];
      fake.events.emit('sync-state', fake.getSyncState());
    });
    expect(result.current.peers[1]!.state).toBe('caught-up');
    act(() => {
      fake.connected = false;
      fake.syncState = [];
      fake.mailbox = null;
      fake.events.emit('sync-state', []);
      fake.events.emit('disconnected');
    });
    expect(result.current).toEqual({ signaling: 'disconnected', attempt: null, peers: [], mailbox: null });
    unmount();
    const names = ['sync-state', 'mailbox', 'mailbox-progress', 'connected', 'disconnected', 'reconnecting', 'reconnected'] as const;
    expect(names.reduce((n, e) => n + fake.events.listenerCount(e), 0)).toBe(0);
  });

  it('useSyncState: an equal sync-state does not re-render; a change between render and subscribe is not lost', () => {
    const fake = new FakeBattery();
    let renders = 0;
    const { result } = renderHook(() => {
      renders++;
      return useSyncState();
    }, { wrapper: wrapperFor(fake) });
    const before = renders;
    act(() => fake.events.emit('sync-state', []));
    expect(renders).toBe(before);
    expect(result.current.peers).toEqual([]);

    const late = new FakeBattery();
    const store = new SyncStateStore(late.asBattery());
    late.syncState = [{ peerId: 'p1', state: 'syncing', toSend: 1, toReceive: 2 }];
    const off = store.subscribe(() => {});
    expect(store.getSnapshot().peers).toEqual(late.syncState);
    off();
  });
});
