/**
 * The mailbox client lives in the worker, so it works the same when the replica is hosted by the
 * leader tab's dedicated worker (`mode: 'dedicated'`, the host for browsers without
 * SharedWorker): A writes and closes its only tab (its worker ends with it); B, never online with
 * A, gets the rows from the mailbox; B edits and leaves; A reopens and gets the edit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { startPeerServer, type TestPeerServer } from '../harness/peer-server.js';
import { openRoomTab, waitForResult, waitUntil } from '../p2p/room-tabs.js';

const session = useBrowserSession();
let server: TestPeerServer;
let dir: string;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-dedicated-'));
  file = join(dir, 'mailbox.sqlite');
  server = await startPeerServer({ mailbox: file });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The mailbox's position: how many blobs members have appended. */
function head(): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT coalesce(max(head), 0) AS h FROM mailboxes').get() as { h: number }).h;
  } finally {
    db.close();
  }
}

const untilHead = async (atLeast: number) => {
  while (head() < atLeast) await new Promise((r) => setTimeout(r, 50));
};

it('dedicated-worker hosts hand rows over through the mailbox while never online together', async () => {
  const options = { signalingUrl: server.url, token: 'mailbox-dedicated-mode-token-91c2', dbName: 'mailbox-dedicated-db', mode: 'dedicated' as const };
  const alice = await session().newUser('alice');
  const bob = await session().newUser('bob');

  const a1 = await openRoomTab(alice, options, 'alice/1');
  await waitUntil(a1, () => window.batteryEvents?.some((e) => e.name === 'mailbox' && e.args[0] === 'online'));
  const values = Array.from({ length: 200 }, (_, i) => `('d${String(i).padStart(3, '0')}', 'dedicated-${i}', ${i})`).join(', ');
  await exec(a1, `INSERT INTO notes VALUES ${values}`);
  await untilHead(1);
  await a1.close();

  const b1 = await openRoomTab(bob, options, 'bob/1');
  await waitForResult(b1, 'SELECT count(*) AS n, sum(n) AS total FROM notes', [{ n: 200, total: 19900 }]);
  const before = head();
  await exec(b1, "UPDATE notes SET body = 'bob-dedicated' WHERE id = 'd007'");
  await untilHead(before + 1);
  await b1.close();

  const a2 = await openRoomTab(alice, options, 'alice/2');
  await waitForResult(a2, "SELECT count(*) AS n, (SELECT body FROM notes WHERE id = 'd007') AS b FROM notes", [{ n: 200, b: 'bob-dedicated' }]);
  expect(await a2.evaluate(() => window.batteryEvents!.some((e) => e.name === 'mailbox' && e.args[0] === 'online'))).toBe(true);
});
