import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { MODES } from '../harness/modes.js';
import { usePeerServer } from '../harness/peer-server.js';
import { connectRoom, openRoomTab, waitForEvent, waitForResult } from '../p2p/room-tabs.js';

// A Chromium user and a Firefox user in one room, inside the same network namespace: their
// WebRTC stacks negotiate the DataChannel (Chromium announces a 256 KiB SCTP max-message-size,
// Firefox 1 GiB; our frames stay at 64 KiB either way), and the data crosses both ways, from an
// initial delta of several frames to live changes, values of nearly the 1 MiB cap included.
const FILES_SCHEMA = 'CREATE TABLE IF NOT EXISTS files (id TEXT PRIMARY KEY NOT NULL, data BLOB)';
const ROWS = 3_000;
const BIG = 900 * 1024; // bytes: many 64 KiB frames for one value, below the 1 MiB value cap

/** Inserts a blob of `size` bytes whose byte i is (i * 7 + seed) mod 251, so any reordering or loss shows. */
async function writeBlob(page: Page, id: string, size: number, seed: number): Promise<void> {
  await page.evaluate(async (id, size, seed) => {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7 + seed) % 251;
    await window.db!.exec('INSERT INTO files (id, data) VALUES (?, ?)', [id, data]);
  }, id, size, seed);
}

/** Whether the blob `id` in `page` has exactly the bytes writeBlob(…, size, seed) wrote. */
async function blobIntact(page: Page, id: string, size: number, seed: number): Promise<boolean> {
  return page.evaluate(async (id, size, seed) => {
    const { rows } = await window.db!.exec('SELECT data FROM files WHERE id = ?', [id]);
    const data = rows[0]?.data;
    if (!(data instanceof Uint8Array) || data.length !== size) return false;
    for (let i = 0; i < size; i++) if (data[i] !== (i * 7 + seed) % 251) return false;
    return true;
  }, id, size, seed);
}

async function enableFiles(page: Page): Promise<void> {
  await exec(page, FILES_SCHEMA);
  await page.evaluate(() => window.db!.enableSync('files'));
}

describe.each(MODES)('a Chromium user and a Firefox user in one room (mode %s)', (mode) => {
  const chromium = useBrowserSession({ browser: 'chromium' });
  const firefox = useBrowserSession({ browser: 'firefox' });
  const server = usePeerServer();

  it('sync both ways: an initial delta of many frames, live inserts, updates, deletes, and a 900 KiB value each way', async () => {
    const token = `chromium-firefox-${mode}`;
    const options = { signalingUrl: server().url, token, mode, connect: false } as const;
    const alice = await openRoomTab(await chromium().newUser('alice'), options, 'alice (chromium)');
    const bob = await openRoomTab(await firefox().newUser('bob'), options, 'bob (firefox)');
    await enableFiles(alice);
    await enableFiles(bob);

    // Written before either is in the room: it crosses as the initial delta.
    await exec(
      alice,
      `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${ROWS})
       INSERT INTO notes SELECT printf('a-%05d', i), printf('alice %05d %s', i, hex(randomblob(24))), i FROM c`,
    );
    await writeBlob(alice, 'from-chromium', BIG, 1);
    const digest = 'SELECT count(*) AS c, sum(n) AS s, max(id) AS m, sum(length(body)) AS b FROM notes';
    const aliceDigest = (await exec(alice, digest)).rows;

    await connectRoom(alice);
    await connectRoom(bob);
    await waitForEvent(alice, 'peer-ready');
    await waitForEvent(bob, 'peer-ready');
    await waitForResult(bob, digest, aliceDigest);
    await waitForResult(bob, "SELECT length(data) AS n FROM files WHERE id = 'from-chromium'", [{ n: BIG }]);
    expect(await blobIntact(bob, 'from-chromium', BIG, 1)).toBe(true);

    // Live, Firefox -> Chromium.
    await exec(bob, "INSERT INTO notes VALUES ('b-1', 'from firefox', -1)");
    await exec(bob, "UPDATE notes SET body = 'edited in firefox' WHERE id = 'a-00001'");
    await exec(bob, "DELETE FROM notes WHERE id = 'a-00002'");
    await writeBlob(bob, 'from-firefox', BIG, 2);
    await waitForResult(alice, "SELECT id, body, n FROM notes WHERE id IN ('a-00001', 'a-00002', 'b-1') ORDER BY id", [
      { id: 'a-00001', body: 'edited in firefox', n: 1 },
      { id: 'b-1', body: 'from firefox', n: -1 },
    ]);
    await waitForResult(alice, "SELECT length(data) AS n FROM files WHERE id = 'from-firefox'", [{ n: BIG }]);
    expect(await blobIntact(alice, 'from-firefox', BIG, 2)).toBe(true);

    // Live, Chromium -> Firefox, on a cell Firefox wrote last.
    await exec(alice, "UPDATE notes SET n = 42 WHERE id = 'b-1'");
    await waitForResult(bob, "SELECT n FROM notes WHERE id = 'b-1'", [{ n: 42 }]);

    // Both hold the same tables.
    const everything = 'SELECT id, body, n FROM notes ORDER BY id';
    expect((await exec(bob, everything)).rows).toEqual((await exec(alice, everything)).rows);
    const aliceNode = await alice.evaluate(() => window.db!.getNodeId());
    expect(await bob.evaluate(() => (window.db as unknown as { getPeers(): string[] }).getPeers())).toEqual([
      expect.stringMatching(new RegExp(`-${aliceNode}$`)),
    ]);
  });
});
