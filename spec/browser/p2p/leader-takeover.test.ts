import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec, isLeader } from '../harness/battery-tab.js';
import { MODES } from '../harness/modes.js';
import { usePeerServer } from '../harness/peer-server.js';
import { openRoomTab, waitForEvent, waitForResult, waitUntil } from './room-tabs.js';

declare global {
  interface Window {
    writer?: { written: number; stop: boolean; done?: Promise<void> };
  }
}

/** Inserts rows w0, w1, ... one after another in the page until told to stop. */
async function startWriting(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = { written: 0, stop: false } as NonNullable<Window['writer']>;
    window.writer = w;
    w.done = (async () => {
      while (!w.stop) {
        await window.db!.exec('INSERT INTO notes VALUES (?, ?, ?)', [`w${w.written}`, 'steady writer', w.written]);
        w.written++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  });
}

async function stopWriting(page: Page): Promise<number> {
  return page.evaluate(async () => {
    window.writer!.stop = true;
    await window.writer!.done;
    return window.writer!.written;
  });
}

// In dedicated mode the closing leader tab also takes the replica's worker with it: the next
// leader starts a new one from IndexedDB, and the handle rejoins the room through it.
describe.each(MODES)('the leader tab closes while a peer keeps writing (mode %s)', (mode) => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it("the user's remaining tab takes over the mesh and the writes arrive", async () => {
    const token = 'takeover-room';
    const alice = await session().newUser('alice');
    const tab1 = await openRoomTab(alice, { signalingUrl: server().url, token, mode }, 'alice/tab1');
    const tab2 = await openRoomTab(alice, { signalingUrl: server().url, token, mode }, 'alice/tab2');
    const bob = await openRoomTab(await session().newUser('bob'), { signalingUrl: server().url, token, mode }, 'bob');
    await waitForEvent(tab2, 'peer-ready');
    await waitForEvent(bob, 'peer-ready');

    const [leader, follower] = (await isLeader(tab1)) ? [tab1, tab2] : [tab2, tab1];
    expect(await isLeader(follower)).toBe(false);

    await startWriting(bob);
    await waitUntil(bob, () => window.writer!.written >= 5);
    await waitForResult(follower, "SELECT id FROM notes WHERE id = 'w3'", [{ id: 'w3' }]);

    const writtenAtClose = await bob.evaluate(() => window.writer!.written);
    await leader.close();
    await waitUntil(follower, () => window.db!.isLeader());
    // The new leader rejoins the room (same peer id, once the server has let go of the old one).
    await waitUntil(follower, () => (window.batteryEvents ?? []).filter((e) => e.name === 'peer-ready').length >= 2);
    // Bob kept writing through the takeover.
    await waitUntil(bob, (n: number) => window.writer!.written >= n, writtenAtClose + 5);
    const total = await stopWriting(bob);
    await waitForResult(follower, 'SELECT count(*) AS c, max(n) AS m FROM notes', [{ c: total, m: total - 1 }]);

    // And the other direction works through the new leader too.
    await exec(follower, "INSERT INTO notes VALUES ('from-follower', 'new leader', -1)");
    await waitForResult(bob, "SELECT id FROM notes WHERE id = 'from-follower'", [{ id: 'from-follower' }]);
  });
});
