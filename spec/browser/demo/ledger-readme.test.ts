import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { useDemoSession } from './demo-session.js';

// The README's Ledger usage example, run as written (see pages/ledger-usage.html
// for the three lines that had to change) by two users in one room: what it logs is what a
// developer following the README would see.
const pages = fileURLToPath(new URL('./pages/', import.meta.url));

type UsageWindow = { usageLoaded?: boolean; runUsage(): Promise<string>; cleanup(): Promise<void>; db: { exec(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> } };

async function openUsage(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as UsageWindow).usageLoaded === true, { polling: 50, timeout: 0 });
}

describe('the Ledger README Usage section', () => {
  const session = useDemoSession({ '/usage/': pages });

  it('runs for two users, who see each other join (peer-join) and receive changes (sync)', async () => {
    const { servers, log } = session();
    const url = `${servers.siteUrl}usage/ledger-usage.html?signal=${encodeURIComponent(servers.signalingUrl)}`;
    const alice = await (await session().newUser('alice')).open(url, 'alice');
    const bob = await (await session().newUser('bob')).open(url, 'bob');
    await Promise.all([openUsage(alice), openUsage(bob)]);

    const aliceNode = await alice.evaluate(() => (window as unknown as UsageWindow).runUsage());
    const bobNode = await bob.evaluate(() => (window as unknown as UsageWindow).runUsage());
    // What the page console.logged; the harness appends each line's source location, cut here.
    const linesOf = (label: string) => log.lines
      .filter((l) => l.includes(`[${label}] log: `))
      .map((l) => l.split(' log: ')[1]!.replace(/ \(https?:\/\/[^)]*\)$/, ''));
    const waitForLine = async (label: string, pattern: RegExp) => {
      for (;;) {
        const line = linesOf(label).find((l) => pattern.test(l));
        if (line) return line;
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // Alice was in the room first: she sees Bob join, then his README writes (insert, update, delete).
    await waitForLine('alice', new RegExp(`^Peer joined: [0-9a-f]{32}-${bobNode}$`));
    const synced = await waitForLine('alice', new RegExp(`^Synced (\\d+) changes from [0-9a-f]{32}-${bobNode}$`));
    expect(Number(/Synced (\d+)/.exec(synced)![1])).toBeGreaterThan(0);

    // Bob registered his listeners after his writes; a later change of Alice's reaches him as `sync`.
    await alice.evaluate(() => (window as unknown as UsageWindow).db.exec('INSERT INTO notes (id, content) VALUES (?, ?)', ['after', 'from alice']));
    await waitForLine('bob', new RegExp(`^Synced \\d+ changes from [0-9a-f]{32}-${aliceNode}$`));
    await bob.waitForFunction(
      async () => JSON.stringify((await (window as unknown as UsageWindow).db.exec('SELECT id, content FROM notes')).rows) === '[{"id":"after","content":"from alice"}]',
      { polling: 50, timeout: 0 },
    );

    // The README's deleted note stays deleted everywhere.
    expect((await alice.evaluate(async () => (await (window as unknown as UsageWindow).db.exec('SELECT content FROM notes')).rows))).toEqual([{ content: 'from alice' }]);

    await bob.evaluate(() => (window as unknown as UsageWindow).cleanup());
    await waitForLine('alice', new RegExp(`^Peer left: [0-9a-f]{32}-${bobNode}$`));
    await alice.evaluate(() => (window as unknown as UsageWindow).cleanup());
  });
});
