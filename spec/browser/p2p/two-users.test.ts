import { describe, expect, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { MODES } from '../harness/modes.js';
import { usePeerServer } from '../harness/peer-server.js';
import { events, openRoomTab, waitForEvent, waitForResult } from './room-tabs.js';

describe.each(MODES)('two users in one room (mode %s)', (mode) => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it('sync inserts, updates and deletes both ways, with peer-join, peer-ready and sync events', async () => {
    const token = 'two-users-room-secret';
    const alice = await openRoomTab(await session().newUser('alice'), { signalingUrl: server().url, token, mode }, 'alice');
    const bob = await openRoomTab(await session().newUser('bob'), { signalingUrl: server().url, token, mode }, 'bob');
    await waitForEvent(alice, 'peer-ready');
    await waitForEvent(bob, 'peer-ready');

    await exec(alice, "INSERT INTO notes VALUES ('a1', 'from alice', 1), ('a2', 'alice two', 2)");
    await waitForResult(bob, 'SELECT id, body, n FROM notes ORDER BY id', [
      { id: 'a1', body: 'from alice', n: 1 },
      { id: 'a2', body: 'alice two', n: 2 },
    ]);
    await exec(bob, "INSERT INTO notes VALUES ('b1', 'from bob', 3)");
    await exec(bob, "UPDATE notes SET body = 'bob edited' WHERE id = 'a1'");
    await exec(bob, "DELETE FROM notes WHERE id = 'a2'");
    const expected = [
      { id: 'a1', body: 'bob edited', n: 1 },
      { id: 'b1', body: 'from bob', n: 3 },
    ];
    await waitForResult(alice, 'SELECT id, body, n FROM notes ORDER BY id', expected);
    await exec(alice, "UPDATE notes SET n = n + 10 WHERE id = 'b1'");
    await waitForResult(bob, "SELECT n FROM notes WHERE id = 'b1'", [{ n: 13 }]);

    const aliceNode = await alice.evaluate(() => window.db!.getNodeId());
    const bobNode = await bob.evaluate(() => window.db!.getNodeId());
    const aliceEvents = await events(alice);
    const joinedBy = (evts: typeof aliceEvents, name: string) => evts.filter((e) => e.name === name).map((e) => String(e.args[0]));
    expect(joinedBy(aliceEvents, 'peer-join').some((p) => p.endsWith(`-${bobNode}`))).toBe(true);
    expect(joinedBy(aliceEvents, 'peer-ready').some((p) => p.endsWith(`-${bobNode}`))).toBe(true);
    expect(aliceEvents.some((e) => e.name === 'sync' && Number(e.args[0]) > 0 && String(e.args[1]).endsWith(`-${bobNode}`))).toBe(true);
    expect(aliceEvents.some((e) => e.name === 'connected')).toBe(true);
    const bobEvents = await events(bob);
    expect(joinedBy(bobEvents, 'peer-ready').some((p) => p.endsWith(`-${aliceNode}`))).toBe(true);
    expect(await bob.evaluate(() => (window.db as unknown as { getPeers(): string[] }).getPeers())).toEqual([
      expect.stringMatching(new RegExp(`-${aliceNode}$`)),
    ]);
    expect(await alice.evaluate(() => (window.db as unknown as { isConnected(): boolean }).isConnected())).toBe(true);
  });
});
