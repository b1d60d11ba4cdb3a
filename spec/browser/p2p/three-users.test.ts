import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { usePeerServer } from '../harness/peer-server.js';
import { connectRoom, disconnectRoom, notes, openRoomTab, waitForResult, waitUntil } from './room-tabs.js';

async function peersOf(page: Page): Promise<number> {
  return page.evaluate(() => (window.db as unknown as { getPeers(): string[] }).getPeers().length);
}

async function waitForPeers(page: Page, count: number): Promise<void> {
  await waitUntil(page, (n: number) => (window.db as unknown as { getPeers(): string[] }).getPeers().length === n, count);
}

/** Polls until every page shows the same notes table and `ready(table)` holds; returns that table. */
async function converge(pages: Page[], ready: (rows: unknown[]) => boolean): Promise<unknown[]> {
  for (;;) {
    const tables = await Promise.all(pages.map(notes));
    const first = JSON.stringify(tables[0]);
    if (tables.every((t) => JSON.stringify(t) === first) && ready(tables[0]!)) return tables[0]!;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('three users', () => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it('converge after concurrent writes to the same rows and cells and one going offline and back', async () => {
    const token = 'three-users-secret';
    const [u1, u2, u3] = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (name) => openRoomTab(await session().newUser(name), { signalingUrl: server().url, token }, name)),
    );
    const pages = [u1!, u2!, u3!];
    await Promise.all(pages.map((p) => waitForPeers(p, 2)));

    await exec(u1!, "INSERT INTO notes VALUES ('r1','seed',1),('r2','seed',2),('r3','seed',3),('r4','seed',4),('r5','seed',5)");
    for (const p of pages) await waitForResult(p, 'SELECT count(*) AS c FROM notes', [{ c: 5 }]);

    // Concurrent: same cells, same rows, delete against update, the same new key written three times.
    // An upsert, not a plain INSERT: one user's r9 may already have arrived (on a loaded machine the
    // three calls do not start together), and a plain INSERT of an existing key fails in SQL.
    const r9 = (user: string, n: number) => `INSERT INTO notes VALUES ('r9', '${user} r9', ${n}) ON CONFLICT(id) DO UPDATE SET body = excluded.body, n = excluded.n`;
    await Promise.all([
      exec(u1!, `UPDATE notes SET body = 'u1' WHERE id IN ('r1', 'r2'); UPDATE notes SET n = 100 WHERE id = 'r4'; ${r9('u1', 91)}`),
      exec(u2!, `UPDATE notes SET body = 'u2' WHERE id IN ('r1', 'r3'); DELETE FROM notes WHERE id = 'r4'; ${r9('u2', 92)}`),
      exec(u3!, `DELETE FROM notes WHERE id = 'r1'; UPDATE notes SET n = 200 WHERE id = 'r2'; ${r9('u3', 93)}`),
    ]);
    const afterConcurrent = await converge(pages, (rows) => rows.some((r) => (r as { id: string }).id === 'r9'));
    expect(afterConcurrent.length).toBeGreaterThanOrEqual(3);

    // u3 goes offline; both sides keep writing, including to the same cell.
    await disconnectRoom(u3!);
    await waitForPeers(u1!, 1);
    await waitForPeers(u3!, 0);
    await exec(u3!, "INSERT OR REPLACE INTO notes VALUES ('r5', 'offline u3', 53); INSERT INTO notes VALUES ('r10', 'written offline', 10)");
    await exec(u1!, "UPDATE notes SET n = 99 WHERE id = 'r5'; DELETE FROM notes WHERE id = 'r3'");
    await exec(u2!, "INSERT INTO notes VALUES ('r11', 'while u3 was away', 11)");
    await waitForResult(u1!, "SELECT id FROM notes WHERE id = 'r11'", [{ id: 'r11' }]);
    expect(await exec(u1!, "SELECT id FROM notes WHERE id = 'r10'")).toMatchObject({ rows: [] });
    expect(await peersOf(u3!)).toBe(0);

    await connectRoom(u3!);
    const final = await converge(pages, (rows) => {
      const ids = rows.map((r) => (r as { id: string }).id);
      return ids.includes('r10') && ids.includes('r11') && !ids.includes('r3');
    });
    // r5: u3's replace (all columns) and u1's later-or-earlier n = 99 merge cell by cell, identically everywhere.
    expect(final.find((r) => (r as { id: string }).id === 'r5')).toBeDefined();
    await Promise.all(pages.map((p) => waitForPeers(p, 2)));
  });
});
