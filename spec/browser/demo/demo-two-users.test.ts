import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { OUTPUT_DIR, useDemoSession, waitForReady, waitForSelector } from './demo-session.js';

// The demo as two people use it: the same room URL in two browser profiles, a note added through
// the form in one shows up in the other's list without a reload (the list is a `watch`), and the
// SQL editor runs a query. Screenshots land in .test-output/.

const noteTexts = (page: Page) => page.$$eval('#notes-list li[data-id] .note-text', (els) => els.map((e) => e.textContent));

async function waitForNote(page: Page, text: string, present = true): Promise<void> {
  await page.waitForFunction(
    (text, present) => [...document.querySelectorAll('#notes-list li[data-id] .note-text')].some((e) => e.textContent === text) === present,
    { polling: 50, timeout: 0 },
    text,
    present,
  );
}

async function addNote(page: Page, text: string): Promise<void> {
  await page.type('#note-input', text);
  await page.keyboard.press('Enter');
}

async function runSql(page: Page, sql: string): Promise<void> {
  await page.$eval('#sql-input', (el, sql) => ((el as HTMLTextAreaElement).value = sql), sql);
  await page.focus('#sql-input');
  // The editor's shortcut, as a user would press it.
  await page.keyboard.down('Control');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Control');
}

describe('the demo site with two users in one room', () => {
  const session = useDemoSession();

  it('syncs a note from one user to the other live, and runs queries from the editor', async () => {
    const { servers } = session();
    const url = servers.roomUrl();
    const alice = await (await session().newUser('alice')).open(url, 'alice');
    const bob = await (await session().newUser('bob')).open(url, 'bob');
    await Promise.all([waitForReady(alice), waitForReady(bob)]);

    // Both pages learned the signaling URL from /config.json and joined the same room.
    for (const page of [alice, bob]) {
      await waitForSelector(page, '#peer-status[data-state="connected"][data-peers="1"]');
      expect(await page.$eval('#peer-text', (e) => e.textContent)).toBe('1 peer connected');
      expect(await page.$eval('#share-url', (e) => (e as HTMLInputElement).value)).toBe(url);
    }

    await addNote(alice, 'Hello from Alice');
    await waitForNote(bob, 'Hello from Alice');
    // Bob's SQL panel is live: it shows Alice's note without running the query again.
    await bob.waitForFunction(() => [...document.querySelectorAll('#results td')].some((td) => td.textContent === 'Hello from Alice'), { polling: 50, timeout: 0 });
    expect(await bob.$eval('#sql-meta', (e) => e.textContent)).toMatch(/^1 row · live$/);
    await addNote(bob, 'Bob was here');
    await waitForNote(alice, 'Bob was here');
    expect((await noteTexts(alice)).sort()).toEqual(['Bob was here', 'Hello from Alice']);

    // Bob deletes Alice's note through the form; it disappears on Alice's side.
    const aliceNoteId = await bob.$$eval('#notes-list li[data-id]', (items) =>
      items.find((li) => li.querySelector('.note-text')?.textContent === 'Hello from Alice')!.getAttribute('data-id'));
    await bob.click(`#notes-list li[data-id="${aliceNoteId}"] button.danger`);
    await waitForNote(alice, 'Hello from Alice', false);

    // The sync log says what happened, in notes' terms.
    await alice.waitForFunction(() => /from peer [0-9a-f]{6}: 1 note deleted/.test(document.getElementById('sync-log')!.textContent ?? ''), { polling: 50, timeout: 0 });
    const aliceLog = await alice.$eval('#sync-log', (e) => e.textContent ?? '');
    expect(aliceLog).toMatch(/peer [0-9a-f]{6} joined/);
    expect(aliceLog).toMatch(/from peer [0-9a-f]{6}: 1 note added/);

    // A delete can be undone for a few seconds; the note comes back for everyone.
    await addNote(bob, 'Undo me');
    await waitForNote(alice, 'Undo me');
    const undoId = await bob.$$eval('#notes-list li[data-id]', (items) =>
      items.find((li) => li.querySelector('.note-text')?.textContent === 'Undo me')!.getAttribute('data-id'));
    await bob.click(`#notes-list li[data-id="${undoId}"] button.danger`);
    await waitForNote(bob, 'Undo me', false);
    await waitForSelector(bob, '#toast:not([hidden])');
    await bob.click('#toast-undo');
    await waitForNote(bob, 'Undo me');
    await waitForNote(alice, 'Undo me');

    // A query from the editor, with column headers.
    await runSql(bob, 'SELECT content FROM notes ORDER BY content');
    await bob.waitForFunction(() => document.querySelector('#results th')?.textContent === 'content', { polling: 50, timeout: 0 });
    expect(await bob.$$eval('#results td', (tds) => tds.map((t) => t.textContent))).toEqual(['Bob was here', 'Undo me']);

    // A failing query shows its error inline, with its code.
    await runSql(bob, 'SELECT * FROM no_such_table');
    await waitForSelector(bob, '#sql-error:not([hidden])');
    expect(await bob.$eval('#sql-error', (e) => e.textContent)).toMatch(/^\[SQL\] .*no such table/);

    await alice.setViewport({ width: 1280, height: 900 });
    await alice.screenshot({ path: join(OUTPUT_DIR, 'demo-alice-1280.png'), fullPage: true });
    // (isMobile would make puppeteer reload the page; the width is what the layout responds to.)
    await bob.setViewport({ width: 390, height: 844 });
    await bob.screenshot({ path: join(OUTPUT_DIR, 'demo-bob-390.png'), fullPage: true });

    // A reload keeps the notes (IndexedDB) and rejoins the room.
    await bob.reload({ waitUntil: 'load' });
    await waitForReady(bob);
    await waitForNote(bob, 'Bob was here');
    await waitForSelector(bob, '#peer-status[data-state="connected"][data-peers="1"]');
  });
});
