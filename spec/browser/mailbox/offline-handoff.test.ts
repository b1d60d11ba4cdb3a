/**
 * Two users who are never online together sync through the mailbox: A writes 1,000 rows and
 * closes every tab (its worker ends); B opens for the first time and gets them; B edits and
 * closes; A reopens (its replica from IndexedDB) and gets B's edits. With the SQLite store and
 * with the Postgres store (a throwaway cluster). Afterwards the stored bytes hold none of the
 * rows' text, the table name, the node ids or the token.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { startPeerServer, type TestPeerServer } from '../harness/peer-server.js';
import { openRoomTab, waitForResult, waitUntil } from '../p2p/room-tabs.js';
import { startPostgresCluster, type PostgresCluster } from '../../node/peer-server/mailbox/postgres-cluster.js';

type Store = 'sqlite' | 'postgres';

describe.each((process.env.MAILBOX_STORES?.split(',') ?? ['sqlite', 'postgres']) as Store[])('offline hand-off through the mailbox (%s)', (kind) => {
  const session = useBrowserSession();
  let server: TestPeerServer;
  let cluster: PostgresCluster | undefined;
  let dir: string;
  let head: () => Promise<number>;
  let storedBytes: () => string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-browser-'));
    if (kind === 'sqlite') {
      const file = join(dir, 'mailbox.sqlite');
      server = await startPeerServer({ mailbox: file });
      head = async () => {
        const db = new Database(file, { readonly: true });
        try {
          return (db.prepare('SELECT coalesce(max(head), 0) AS h FROM mailboxes').get() as { h: number }).h;
        } finally {
          db.close();
        }
      };
      storedBytes = () => readFileSync(file).toString('latin1') + readFileSync(`${file}-wal`, { flag: 'a+' }).toString('latin1');
    } else {
      cluster = await startPostgresCluster();
      const connection = cluster.connection;
      server = await startPeerServer({ mailbox: { postgres: connection } });
      head = async () => {
        const c = new pg.Client(connection);
        await c.connect();
        try {
          return Number((await c.query('SELECT coalesce(max(head), 0) AS h FROM rtc_battery_mailboxes')).rows[0].h);
        } finally {
          await c.end();
        }
      };
      storedBytes = () => {
        // pg_dump writes bytea as hex: decode it so a plaintext match would show.
        const dump = cluster!.dump();
        return dump + dump.replace(/\\\\x([0-9a-f]+)/g, (_m, hex: string) => Buffer.from(hex, 'hex').toString('latin1'));
      };
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const until = async (check: () => Promise<boolean>) => {
    while (!(await check())) await new Promise((r) => setTimeout(r, 50));
  };

  it('A writes 1,000 rows and leaves; B gets them with A offline; B edits and leaves; A comes back to them', async ({ onTestFailed }) => {
    // Every wait below is unbounded (only the test timeout ends it): on failure, say which step
    // was waiting, the mailbox's head, and the events of the tab that was open then.
    let step = 'opening the users';
    let open: Page | undefined;
    onTestFailed(async () => {
      const headNow = await head().catch((e: unknown) => `unreadable (${String(e)})`);
      const events = open && !open.isClosed()
        ? await open.evaluate(() => window.batteryEvents!.map((e) => `${e.name} ${JSON.stringify(e.args)}`).slice(-40)).catch((e: unknown) => [String(e)])
        : ['(no tab open)'];
      console.log(`offline hand-off (${kind}) stopped at: ${step}; mailbox head ${headNow}\n${events.join('\n')}\n--- server log (last 40) ---\n${server.log.slice(-40).join('\n')}`);
    });
    const token = `mailbox-handoff-${kind}-token-7f3a`;
    const alice = await session().newUser('alice');
    const bob = await session().newUser('bob');
    const options = { signalingUrl: server.url, token, dbName: 'mailbox-db' };

    step = 'alice/1 opens and its mailbox goes online';
    const a1 = await openRoomTab(alice, options, 'alice/1');
    open = a1;
    await waitUntil(a1, () => window.batteryEvents?.some((e) => e.name === 'mailbox' && e.args[0] === 'online'));
    const values = Array.from({ length: 1000 }, (_, i) => `('r${String(i).padStart(4, '0')}', 'handoff-text-${i}', ${i})`).join(', ');
    step = 'alice/1 writes 1,000 rows and uploads them';
    await exec(a1, `INSERT INTO notes VALUES ${values}`);
    await until(async () => (await head()) >= 1);
    const aliceNode = await a1.evaluate(() => window.db!.getNodeId());
    await a1.close();

    step = 'bob/1 opens and downloads the 1,000 rows';
    const b1 = await openRoomTab(bob, options, 'bob/1');
    open = b1;
    await waitForResult(b1, 'SELECT count(*) AS n, sum(n) AS total FROM notes', [{ n: 1000, total: 499500 }]);
    const bobEvents = await b1.evaluate(() => window.batteryEvents!.map((e) => `${e.name} ${JSON.stringify(e.args)}`));
    expect(bobEvents.filter((e) => e.startsWith('mailbox-progress')), bobEvents.join('\n')).not.toEqual([]);
    const bobNode = await b1.evaluate(() => window.db!.getNodeId());
    const before = await head();
    step = "bob/1 edits two rows and uploads them";
    await exec(b1, "UPDATE notes SET body = 'bob-was-here' WHERE id = 'r0007'");
    await exec(b1, "DELETE FROM notes WHERE id = 'r0008'");
    await until(async () => (await head()) >= before + 2);
    await b1.close();

    step = "alice/3 reopens and downloads bob's edits";
    const a2 = await alice.openTab('/tab.html', 'alice/2');
    await a2.close();
    const a3 = await openRoomTab(alice, options, 'alice/3');
    open = a3;
    await waitForResult(a3, "SELECT count(*) AS n, (SELECT body FROM notes WHERE id = 'r0007') AS b FROM notes", [{ n: 999, b: 'bob-was-here' }]);

    step = 'checking what the mailbox stored';
    const stored = storedBytes();
    // The mailbox's own log lines (signaling's join/leave lines name peers by design).
    const logs = server.log.filter((l) => l.startsWith('mailbox')).join('\n');
    expect(logs).toContain('mailbox open');
    for (const secret of ['handoff-text-1', 'bob-was-here', 'notes', aliceNode, bobNode, token]) {
      expect(stored.includes(secret), `stored bytes contain ${secret}`).toBe(false);
      expect(logs.includes(secret), `logs contain ${secret}`).toBe(false);
    }
  });
});
