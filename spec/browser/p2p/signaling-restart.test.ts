import { describe, expect, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { usePeerServer } from '../harness/peer-server.js';
import { events, openRoomTab, waitForEvent, waitForResult } from './room-tabs.js';

describe('the signaling server restarts', () => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it('established links keep syncing while it is down; peers reconnect and new peers join after', async () => {
    const token = 'restart-room';
    const alice = await openRoomTab(await session().newUser('alice'), { signalingUrl: server().url, token }, 'alice');
    const bob = await openRoomTab(await session().newUser('bob'), { signalingUrl: server().url, token }, 'bob');
    await waitForEvent(alice, 'peer-ready');
    await waitForEvent(bob, 'peer-ready');

    await server().stop();
    await waitForEvent(alice, 'disconnected');
    await waitForEvent(alice, 'reconnecting');
    await waitForEvent(bob, 'reconnecting');
    expect(await alice.evaluate(() => (window.db as unknown as { isConnected(): boolean }).isConnected())).toBe(false);

    // The DataConnection does not need the server.
    await exec(alice, "INSERT INTO notes VALUES ('during', 'server down', 1)");
    await waitForResult(bob, "SELECT id FROM notes WHERE id = 'during'", [{ id: 'during' }]);

    await server().start();
    await waitForEvent(alice, 'reconnected');
    await waitForEvent(bob, 'reconnected');
    expect(await bob.evaluate(() => (window.db as unknown as { isConnected(): boolean }).isConnected())).toBe(true);

    // Signaling works again: a newcomer is brokered to both and catches up.
    const carol = await openRoomTab(await session().newUser('carol'), { signalingUrl: server().url, token }, 'carol');
    await waitForResult(carol, 'SELECT id FROM notes', [{ id: 'during' }]);
    await exec(bob, "INSERT INTO notes VALUES ('after', 'server back', 2)");
    await waitForResult(alice, "SELECT id FROM notes ORDER BY id", [{ id: 'after' }, { id: 'during' }]);
    await waitForResult(carol, "SELECT id FROM notes ORDER BY id", [{ id: 'after' }, { id: 'during' }]);

    const names = (await events(alice)).map((e) => e.name).filter((n) => ['connected', 'disconnected', 'reconnecting', 'reconnected'].includes(n));
    expect(names[0]).toBe('connected');
    expect(names.indexOf('disconnected')).toBeLessThan(names.indexOf('reconnecting'));
    expect(names.at(-1)).toBe('reconnected');
    const attempts = (await events(alice)).filter((e) => e.name === 'reconnecting').map((e) => e.args[0] as number);
    expect(attempts).toEqual(attempts.map((_, i) => i + 1));
  });
});
