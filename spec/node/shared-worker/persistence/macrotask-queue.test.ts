import { describe, expect, it } from 'vitest';
import { MacrotaskQueue } from '../../../../shared-worker/persistence/macrotask-queue.js';

describe('MacrotaskQueue', () => {
  it('runs tasks in order through a MessageChannel, after pending microtasks, as browsers do', async () => {
    let posted = 0;
    class CountingChannel extends MessageChannel {
      constructor() {
        super();
        const post = this.port2.postMessage.bind(this.port2);
        this.port2.postMessage = (m: unknown) => {
          posted++;
          post(m);
        };
      }
    }
    const q = new MacrotaskQueue({ MessageChannel: CountingChannel, setTimeout: () => { throw new Error('no timers here'); } });
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      q.schedule(() => order.push('a'));
      q.schedule(() => {
        order.push('b');
        resolve();
      });
    });
    void Promise.resolve().then(() => order.push('microtask'));
    await done;
    expect(order).toEqual(['microtask', 'a', 'b']);
    expect(posted).toBe(2);
  });

  it('falls back to a zero timeout where MessageChannel is missing', async () => {
    const delays: number[] = [];
    const q = new MacrotaskQueue({ setTimeout: (fn, ms) => { delays.push(ms); return setTimeout(fn, ms); } });
    await new Promise<void>((resolve) => q.schedule(resolve));
    expect(delays).toEqual([0]);
  });

  it('does not keep Node alive once idle', async () => {
    const q = new MacrotaskQueue();
    await new Promise<void>((resolve) => q.schedule(resolve));
    // An idle queue's port is unref'd: only the handles this test opened itself remain.
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    expect(handles.some((h) => (h as { constructor?: { name?: string } }).constructor?.name === 'MessagePort' && (h as { hasRef?: () => boolean }).hasRef?.())).toBe(false);
  });
});
