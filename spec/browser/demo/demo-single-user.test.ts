import { describe, expect, it } from 'vitest';
import { useDemoSession, waitForReady, waitForSelector } from './demo-session.js';

describe('the demo site for one user', () => {
  const session = useDemoSession();

  it('puts a fresh room token in a URL that has none, and the share box shows that URL', async () => {
    const { servers } = session();
    const page = await (await session().newUser('carol')).open(servers.siteUrl);
    await waitForReady(page);
    const href = await page.evaluate(() => location.href);
    expect(href).toMatch(/#[A-Za-z0-9_-]{22}$/);
    expect(await page.$eval('#share-url', (e) => (e as HTMLInputElement).value)).toBe(href);
    expect(await page.$eval('#role', (e) => e.getAttribute('data-role'))).toBe('leader');
    expect(await page.$eval('#peer-status', (e) => e.getAttribute('data-state'))).toBe('connected');
    expect(await page.$eval('#peer-text', (e) => e.textContent)).toBe('connected · no peers yet');
  });

  it('Copy puts the share URL on the clipboard', async () => {
    const { servers } = session();
    const user = await session().newUser('frank');
    // Firefox has no clipboard permission to grant over BiDi (it refuses 'clipboard-read'); the
    // testing pref dom.events.testing.asyncClipboard (launch-browser.ts) lets readText run there.
    if (session().browserName === 'chromium') {
      await user.context.overridePermissions(new URL(servers.siteUrl).origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
    }
    const url = servers.roomUrl();
    const page = await user.open(url);
    await waitForReady(page);
    await page.click('#copy');
    await page.waitForFunction(() => document.getElementById('copy')?.textContent === 'Copied', { polling: 50, timeout: 0 });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
  });

  it('a second tab of the same user shares the notes and is a follower', async () => {
    const { servers } = session();
    const user = await session().newUser('dave');
    const url = servers.roomUrl();
    const first = await user.open(url, 'dave/tab1');
    await waitForReady(first);
    const second = await user.open(url, 'dave/tab2');
    await waitForReady(second);
    await first.type('#note-input', 'written in tab 1');
    await first.keyboard.press('Enter');
    await second.waitForFunction(
      () => document.querySelector('#notes-list li[data-id] .note-text')?.textContent === 'written in tab 1',
      { polling: 50, timeout: 0 },
    );
    expect(await second.$eval('#role', (e) => e.getAttribute('data-role'))).toBe('follower');
    // The follower shows the connection the leader tab holds.
    await waitForSelector(second, '#peer-status[data-state="connected"]');
  });

  it('edits a note in place', async () => {
    const { servers } = session();
    const page = await (await session().newUser('erin')).open(servers.roomUrl());
    await waitForReady(page);
    await page.type('#note-input', 'first draft');
    await page.keyboard.press('Enter');
    await waitForSelector(page, '#notes-list li[data-id] button.link');
    await page.click('#notes-list li[data-id] button.link'); // Edit
    await waitForSelector(page, '#notes-list li[data-id] input');
    await page.click('#notes-list li[data-id] input', { count: 3 });
    await page.keyboard.type('final text');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelector('#notes-list li[data-id] .note-text')?.textContent === 'final text',
      { polling: 50, timeout: 0 },
    );
    const rows = await page.evaluate(async () => (await (window as unknown as { demo: { db: { exec(s: string): Promise<{ rows: unknown[] }> } } }).demo.db.exec('SELECT content FROM notes')).rows);
    expect(rows).toEqual([{ content: 'final text' }]);
  });
});
