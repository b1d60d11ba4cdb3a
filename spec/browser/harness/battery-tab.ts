import type { Page } from 'puppeteer-core';
import type { User } from './browser-session.js';
import type { ExecResultLike } from './page-globals.js';
import './page-globals.js';

/** The events of the README ("Events") that tabs record into window.batteryEvents. */
const BATTERY_EVENTS = [
  'sync', 'peer-join', 'peer-ready', 'peer-leave', 'connected', 'disconnected',
  'reconnecting', 'reconnected', 'change', 'leader', 'error', 'mailbox', 'mailbox-progress',
] as const;

/** A failure inside a page, with the BatteryError code it carried (if any). */
class PageCallError extends Error {
  constructor(readonly code: string | undefined, message: string) {
    super(`${code ?? 'no code'}: ${message}`);
    this.name = 'PageCallError';
  }
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string | undefined; message: string; name: string };

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new PageCallError(outcome.code, outcome.message);
}

/** Waits for tab.html's module script to have loaded the bundle (or failed to). */
export async function waitForLibrary(page: Page): Promise<void> {
  await page.waitForFunction(() => window.rtcBattery !== undefined || window.batteryLoadError !== undefined, { polling: 50, timeout: 0 });
  const error = await page.evaluate(() => window.batteryLoadError);
  if (error) throw new Error(`the bundle did not load in ${page.url()}: ${error}`);
}

/**
 * connectBattery(options) in the page; the handle becomes window.db and every event it emits is
 * appended to window.batteryEvents (errors reduced to {code, message}).
 */
export async function connectTab(page: Page, options: Record<string, unknown>): Promise<void> {
  await waitForLibrary(page);
  const outcome = await page.evaluate(async (opts, events) => {
    try {
      const recorded: { name: string; args: unknown[] }[] = [];
      window.batteryEvents = recorded;
      const db = await window.rtcBattery!.connectBattery(opts);
      window.db = db;
      for (const name of events) {
        db.on(name, (...args: unknown[]) => {
          recorded.push({
            name,
            args: args.map((a) =>
              a instanceof Error ? { code: (a as { code?: string }).code, message: a.message } : a,
            ),
          });
        });
      }
      return { ok: true as const, value: null };
    } catch (e) {
      const err = e as { code?: string; message?: string; name?: string };
      return { ok: false as const, code: err?.code, message: String(err?.message ?? e), name: String(err?.name) };
    }
  }, options, [...BATTERY_EVENTS]);
  unwrap(outcome);
}

/** Opens a tab of `user` and connects it. */
export async function openBatteryTab(user: User, options: Record<string, unknown>, label?: string): Promise<Page> {
  const page = await user.openTab('/tab.html', label);
  await connectTab(page, options);
  return page;
}

/** Opens `count` tabs of `user`, one after the other (the first becomes leader), all connected. */
export async function openBatteryTabs(user: User, count: number, options: Record<string, unknown>): Promise<Page[]> {
  const tabs: Page[] = [];
  for (let i = 0; i < count; i++) tabs.push(await openBatteryTab(user, options));
  return tabs;
}

/**
 * Evaluates `expression` in the page with `db` bound to the tab's handle, awaits it, and reports
 * how it settled: the (JSON-copied) value, or the error's code, message and name.
 */
export async function settle(page: Page, expression: string): Promise<Outcome<unknown>> {
  return page.evaluate(async (source) => {
    try {
      const value: unknown = await new Function('db', `return (${source})`)(window.db);
      return { ok: true as const, value: JSON.parse(JSON.stringify(value ?? null)) as unknown };
    } catch (e) {
      const err = e as { code?: string; message?: string; name?: string };
      return { ok: false as const, code: err?.code, message: String(err?.message ?? e), name: String(err?.name) };
    }
  }, expression);
}

/** exec in the page; the result, or the error's code and message (never throws for SQL errors). */
export async function tryExec(page: Page, sql: string, params?: unknown): Promise<Outcome<ExecResultLike>> {
  const args = params === undefined ? JSON.stringify(sql) : `${JSON.stringify(sql)}, ${JSON.stringify(params)}`;
  return settle(page, `db.exec(${args})`) as Promise<Outcome<ExecResultLike>>;
}

/** exec in the page; throws PageCallError (with the code) on failure. */
export async function exec(page: Page, sql: string, params?: unknown): Promise<ExecResultLike> {
  return unwrap(await tryExec(page, sql, params));
}

/** Rows of a SELECT, e.g. `await rows(page, 'SELECT id FROM t')`. */
export async function rows(page: Page, sql: string, params?: unknown): Promise<Record<string, unknown>[]> {
  return (await exec(page, sql, params)).rows;
}

export async function isLeader(page: Page): Promise<boolean> {
  return page.evaluate(() => window.db!.isLeader());
}

/** Names of the events the tab's handle has emitted so far. */
export async function eventNames(page: Page): Promise<string[]> {
  return page.evaluate(() => (window.batteryEvents ?? []).map((e) => e.name));
}

/**
 * Polls `check` (in Node) every 50 ms until it returns a value other than undefined/false.
 * No time limit of its own: the test's timeout bounds it.
 */
export async function waitUntil<T>(check: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
