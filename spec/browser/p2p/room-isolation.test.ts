import { describe, expect, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { usePeerServer } from '../harness/peer-server.js';
import { events, notes, openRoomTab, waitForEvent, waitForResult } from './room-tabs.js';

describe('room isolation', () => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it('a wrong token and another room learn nothing, and their writes never appear', async () => {
    const url = server().url;
    const alice = await openRoomTab(await session().newUser('alice'), { signalingUrl: url, token: 'the-right-token' }, 'alice');
    const bob = await openRoomTab(await session().newUser('bob'), { signalingUrl: url, token: 'the-right-token' }, 'bob');
    const mallory = await openRoomTab(await session().newUser('mallory'), { signalingUrl: url, token: 'the-right-token!' }, 'mallory');
    const other = await openRoomTab(await session().newUser('other'), { signalingUrl: url, token: 'another-room' }, 'other');
    await waitForEvent(alice, 'peer-ready');
    await waitForEvent(mallory, 'connected');
    await waitForEvent(other, 'connected');

    await exec(alice, "INSERT INTO notes VALUES ('secret', 'alice only', 1)");
    await exec(mallory, "INSERT INTO notes VALUES ('m1', 'mallory', 2)");
    await exec(other, "INSERT INTO notes VALUES ('o1', 'other room', 3)");
    // Written after the intruders' rows: once it arrives, theirs would have had their chance too.
    await exec(mallory, "INSERT INTO notes VALUES ('m2', 'mallory again', 4)");
    await exec(alice, "INSERT INTO notes VALUES ('marker', 'alice later', 5)");
    await waitForResult(bob, 'SELECT id FROM notes ORDER BY id', [{ id: 'marker' }, { id: 'secret' }]);
    // One more signaling poll period on both sides before judging the intruders' view.
    await exec(bob, "INSERT INTO notes VALUES ('marker2', 'bob', 6)");
    await waitForResult(alice, "SELECT id FROM notes WHERE id = 'marker2'", [{ id: 'marker2' }]);

    expect(await notes(mallory)).toEqual([
      { id: 'm1', body: 'mallory', n: 2 },
      { id: 'm2', body: 'mallory again', n: 4 },
    ]);
    expect(await notes(other)).toEqual([{ id: 'o1', body: 'other room', n: 3 }]);
    expect((await notes(alice)).map((r) => (r as { id: string }).id)).toEqual(['marker', 'marker2', 'secret']);
    for (const page of [mallory, other]) {
      const names = (await events(page)).map((e) => e.name);
      expect(names).not.toContain('peer-ready');
      expect(names).not.toContain('sync');
      expect(await page.evaluate(() => (window.db as unknown as { getPeers(): string[] }).getPeers())).toEqual([]);
    }
    const alicePeers = await alice.evaluate(() => (window.db as unknown as { getPeers(): string[] }).getPeers());
    expect(alicePeers).toHaveLength(1);
  });
});
