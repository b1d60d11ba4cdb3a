/**
 * Two users on different app versions (DESIGN "Schema evolution"): Alice runs version 2 (a new
 * `pinned` column), Bob still runs version 1; both edit; Bob's replica keeps Alice's pins without
 * the column, and after Bob reloads with version 2 he sees them; Bob's edits reach Alice throughout.
 */
import type { Page } from 'puppeteer-core';
import { describe, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { connectTab, exec } from '../harness/battery-tab.js';
import { usePeerServer } from '../harness/peer-server.js';
import { connectRoom, waitForEvent, waitForResult } from './room-tabs.js';

const V1 = ['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT, n INTEGER)'];
const V2 = [...V1, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'];

describe('two users on different schema versions', () => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it('keep syncing; the older one shows the new column\'s values after it migrates', async () => {
    const token = 'mixed-schema-room-secret';
    const open = async (page: Page, migrations: string[]) => {
      await connectTab(page, { dbName: 'mixed-db', mode: 'shared', signalingUrl: server().url, token, iceServers: [], migrations });
      await page.evaluate(() => window.db!.enableSync('notes'));
      await connectRoom(page);
    };
    const alice = await (await session().newUser('alice')).openTab('/tab.html', 'alice');
    const bob = await (await session().newUser('bob')).openTab('/tab.html', 'bob');
    await open(alice, V2);
    await open(bob, V1);
    await waitForEvent(alice, 'peer-ready');
    await waitForEvent(bob, 'peer-ready');

    await exec(alice, "INSERT INTO notes VALUES ('a1', 'from alice', 1, 1), ('a2', 'alice two', 2, 0)");
    await exec(bob, "INSERT INTO notes VALUES ('b1', 'from bob', 3)");
    await waitForResult(bob, 'SELECT id, body, n FROM notes ORDER BY id', [
      { id: 'a1', body: 'from alice', n: 1 },
      { id: 'a2', body: 'alice two', n: 2 },
      { id: 'b1', body: 'from bob', n: 3 },
    ]);
    // Both edit while on different versions.
    await exec(alice, "UPDATE notes SET pinned = 1 WHERE id = 'a2'");
    await exec(bob, "UPDATE notes SET body = 'bob edited' WHERE id = 'a1'");
    await exec(bob, "INSERT INTO notes VALUES ('b2', 'bob two', 4)");
    await waitForResult(alice, 'SELECT id, body, pinned FROM notes ORDER BY id', [
      { id: 'a1', body: 'bob edited', pinned: 1 },
      { id: 'a2', body: 'alice two', pinned: 1 },
      { id: 'b1', body: 'from bob', pinned: 0 },
      { id: 'b2', body: 'bob two', pinned: 0 },
    ]);
    // Alice's pin of a2 reached Bob too (kept as a cell of a column his table lacks): wait until his
    // version vector can only mean he has it, by waiting for a later change of Alice's.
    await exec(alice, "INSERT INTO notes VALUES ('a3', 'marker', 5, 0)");
    await waitForResult(bob, "SELECT id FROM notes WHERE id = 'a3'", [{ id: 'a3' }]);

    // Bob loads version 2 of the app.
    await bob.reload({ waitUntil: 'load' });
    await open(bob, V2);
    await waitForResult(bob, 'SELECT id, body, pinned FROM notes ORDER BY id', [
      { id: 'a1', body: 'bob edited', pinned: 1 },
      { id: 'a2', body: 'alice two', pinned: 1 },
      { id: 'a3', body: 'marker', pinned: 0 },
      { id: 'b1', body: 'from bob', pinned: 0 },
      { id: 'b2', body: 'bob two', pinned: 0 },
    ]);
    await exec(bob, "UPDATE notes SET pinned = 1 WHERE id = 'b1'");
    await waitForResult(alice, "SELECT pinned FROM notes WHERE id = 'b1'", [{ pinned: 1 }]);
  });
});
