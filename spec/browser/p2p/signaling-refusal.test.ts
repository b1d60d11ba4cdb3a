import { describe, expect, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { usePeerServer } from '../harness/peer-server.js';
import { disconnectRoom, events, openRoomTab, waitForEvent, waitUntil } from './room-tabs.js';

describe('the signaling server refuses a peer', () => {
  const session = useBrowserSession();
  const server = usePeerServer({ maxPeersPerRoom: 1 });

  it('reports a SIGNALING error, keeps retrying with backoff, and gets in once there is room', async () => {
    const token = 'one-seat-room';
    const alice = await openRoomTab(await session().newUser('alice'), { signalingUrl: server().url, token }, 'alice');
    await waitForEvent(alice, 'connected');
    const bob = await openRoomTab(await session().newUser('bob'), { signalingUrl: server().url, token }, 'bob');
    await waitUntil(bob, () => (window.batteryEvents ?? []).some((e) => e.name === 'error'));
    await waitForEvent(bob, 'reconnecting');
    const error = (await events(bob)).find((e) => e.name === 'error')!.args[0] as { code: string; message: string };
    expect(error.code).toBe('SIGNALING');
    expect(error.message).toMatch(/room is full/);
    expect(await bob.evaluate(() => (window.db as unknown as { isConnected(): boolean }).isConnected())).toBe(false);

    await disconnectRoom(alice);
    await waitForEvent(bob, 'connected');
    expect(await bob.evaluate(() => (window.db as unknown as { isConnected(): boolean }).isConnected())).toBe(true);
  });
});
