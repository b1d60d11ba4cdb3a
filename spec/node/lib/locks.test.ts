import { describe, expect, it } from 'vitest';
import { standForLeader } from '../../../lib/leader-election.js';
import { holdTabLock, tabLockName, whenLockedTabGone, whenTabGone } from '../../../shared-worker/protocol/tab-lock.js';
import { FakeLocks } from './fake-locks.js';
import { settle } from '../shared-worker/hub/memory-port.js';

describe('tab locks', () => {
  it('reports a tab gone only once it releases its lock', async () => {
    const locks = new FakeLocks();
    const release = await holdTabLock(locks, 't1');
    expect(locks.isHeld(tabLockName('t1'))).toBe(true);
    let gone = 0;
    whenTabGone(locks, 't1', () => gone++);
    await settle();
    expect(gone).toBe(0);
    release();
    await settle();
    expect(gone).toBe(1);
  });

  it('a cancelled watch never fires', async () => {
    const locks = new FakeLocks();
    const release = await holdTabLock(locks, 't1');
    let gone = 0;
    const cancel = whenTabGone(locks, 't1', () => gone++);
    cancel();
    release();
    await settle();
    expect(gone).toBe(0);
  });

  it('does not declare dead a tab that never took its lock (raw clients), but watches one that did', async () => {
    const locks = new FakeLocks();
    const unwatched: string[] = [];
    let rawGone = 0;
    whenLockedTabGone(locks, 'raw', () => rawGone++, (id) => unwatched.push(id));
    const release = await holdTabLock(locks, 'ours');
    let oursGone = 0;
    whenLockedTabGone(locks, 'ours', () => oursGone++, (id) => unwatched.push(id));
    await settle();
    expect(rawGone).toBe(0);
    expect(unwatched).toEqual(['raw']);
    release();
    await settle();
    expect(oursGone).toBe(1);
  });
});

describe('leader election', () => {
  it('elects exactly one tab, and the next one when the leader resigns', async () => {
    const locks = new FakeLocks();
    const elected: string[] = [];
    const tabs = ['a', 'b', 'c'].map((id) => ({ id, c: standForLeader(locks, 'db', () => elected.push(id)) }));
    await settle();
    expect(elected).toEqual(['a']);
    expect(tabs.map((t) => t.c.isLeader)).toEqual([true, false, false]);
    tabs[0]!.c.resign();
    await settle();
    expect(elected).toEqual(['a', 'b']);
    // a queued tab that leaves never becomes leader
    tabs[2]!.c.resign();
    tabs[1]!.c.resign();
    await settle();
    expect(elected).toEqual(['a', 'b']);
  });

  it('elections of different databases are independent', async () => {
    const locks = new FakeLocks();
    const elected: string[] = [];
    standForLeader(locks, 'one', () => elected.push('one'));
    standForLeader(locks, 'two', () => elected.push('two'));
    await settle();
    expect(elected.sort()).toEqual(['one', 'two']);
  });
});
