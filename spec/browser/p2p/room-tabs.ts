/**
 * Helpers for the P2P suites: open a tab that joins a room, create and sync the test table, and
 * wait (with waitForFunction polling, never a wall-clock limit) until a query shows what we expect.
 */
import type { Page } from 'puppeteer-core';
import type { User } from '../harness/browser-session.js';
import { connectTab, exec } from '../harness/battery-tab.js';
import '../harness/page-globals.js';

export const NOTES_SCHEMA = 'CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY NOT NULL, body TEXT, n INTEGER)';

export interface RoomTabOptions {
  signalingUrl: string;
  token: string;
  dbName?: string;
  mode?: 'shared' | 'dedicated';
  /** Connect right away (default) or leave it to the test. */
  connect?: boolean;
}

/** A tab of `user` with the notes table synced and (by default) connected to the room. */
export async function openRoomTab(user: User, options: RoomTabOptions, label?: string): Promise<Page> {
  const page = await user.openTab('/tab.html', label);
  await connectTab(page, {
    dbName: options.dbName ?? 'p2p-db',
    mode: options.mode ?? 'shared',
    signalingUrl: options.signalingUrl,
    token: options.token,
    // The suites name their rooms with readable tokens ('two-users-room-secret'), below the
    // 128-bit rule; they opt in rather than pretend to be random.
    allowWeakToken: true,
    iceServers: [],
  });
  await exec(page, NOTES_SCHEMA);
  await page.evaluate(() => window.db!.enableSync('notes'));
  if (options.connect !== false) await connectRoom(page);
  return page;
}

export async function connectRoom(page: Page, signalingUrl?: string, token?: string): Promise<void> {
  await page.evaluate(async (url, tok) => {
    const db = window.db as unknown as { connect(url?: string, token?: string): Promise<void> };
    await db.connect(url ?? undefined, tok ?? undefined);
  }, signalingUrl ?? null, token ?? null);
}

export async function disconnectRoom(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await (window.db as unknown as { disconnect(): Promise<void> }).disconnect();
  });
}

/**
 * page.waitForFunction without a deadline. Each call is one CDP request, which puppeteer bounds
 * by its protocolTimeout (60 s in launch-browser.ts) even with `timeout: 0`; so wait in slices
 * of 20 s and start again. Only the vitest timeout bounds the whole wait.
 */
export async function waitUntil<A extends unknown[]>(page: Page, predicate: (...args: A) => unknown, ...args: A): Promise<void> {
  for (;;) {
    try {
      await page.waitForFunction(predicate as (...a: unknown[]) => unknown, { polling: 50, timeout: 20_000 }, ...args);
      return;
    } catch (e) {
      const err = e as { name?: string; message?: string };
      if (err?.name === 'TimeoutError' || /timed out/i.test(String(err?.message))) continue;
      throw e;
    }
  }
}

/** Waits until `sql` returns exactly `expected` (JSON-equal) in `page`; returns nothing on success. */
export async function waitForResult(page: Page, sql: string, expected: unknown): Promise<void> {
  const want = JSON.stringify(expected);
  try {
    await waitUntil(
      page,
      async (sql: string, want: string) => {
        try {
          const r = await window.db!.exec(sql);
          return JSON.stringify(r.rows) === want;
        } catch {
          return false;
        }
      },
      sql,
      want,
    );
  } catch (e) {
    const got = await page.evaluate(async (sql) => JSON.stringify((await window.db!.exec(sql)).rows), sql).catch(String);
    throw new Error(`waiting for ${sql} = ${want} failed (last: ${got}): ${String(e)}`);
  }
}

/** Waits until the tab's handle has emitted `name` (optionally with a first argument). */
export async function waitForEvent(page: Page, name: string, firstArg?: unknown): Promise<void> {
  await waitUntil(
    page,
    (name: string, arg: unknown, hasArg: boolean) => (window.batteryEvents ?? []).some((e) => e.name === name && (!hasArg || e.args[0] === arg)),
    name,
    firstArg ?? null,
    firstArg !== undefined,
  );
}

export async function events(page: Page): Promise<Array<{ name: string; args: unknown[] }>> {
  return page.evaluate(() => window.batteryEvents ?? []);
}

export async function notes(page: Page): Promise<unknown[]> {
  return (await exec(page, 'SELECT id, body, n FROM notes ORDER BY id')).rows;
}
