/**
 * Migrations across tabs of one user, in both replica host modes (README "Migrations"): a tab
 * with a longer list migrates the shared replica whether it hosts it or is relayed to the host;
 * every tab's getSchemaVersion() follows; a tab with an older list is refused with SCHEMA naming
 * both versions; and the version survives closing every tab.
 */
import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { useBrowserSession } from './harness/vitest-session.js';
import { connectTab, exec, openBatteryTab, rows, settle } from './harness/battery-tab.js';
import { MODES, tabOptions } from './harness/modes.js';

const V1 = ['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)', { sql: "INSERT INTO notes VALUES ('n1', 'first')" }];
const V2 = [...V1, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'];

async function version(page: Page): Promise<unknown> {
  const outcome = await settle(page, 'db.getSchemaVersion()');
  return outcome.ok ? outcome.value : outcome;
}

describe.each(MODES)('migrations across tabs (mode %s)', (mode) => {
  const session = useBrowserSession();

  it('a second tab with a newer list migrates the shared replica; an older list is refused; the version survives', async () => {
    const user = await session().newUser();
    const tab1 = await openBatteryTab(user, { ...tabOptions(mode, 'migrations-db'), migrations: V1 });
    expect(await settle(tab1, "db.enableSync('notes')")).toEqual({ ok: true, value: null });
    expect(await version(tab1)).toBe(2);
    const tab2 = await openBatteryTab(user, { ...tabOptions(mode, 'migrations-db'), migrations: V2 });
    expect(await version(tab2)).toBe(3);
    await exec(tab2, "UPDATE notes SET pinned = 1 WHERE id = 'n1'");
    expect(await rows(tab1, 'SELECT * FROM notes')).toEqual([{ id: 'n1', body: 'first', pinned: 1 }]);
    expect(await version(tab1)).toBe(3);

    const tab3 = await user.openTab('/tab.html');
    const refused = await connectTab(tab3, { ...tabOptions(mode, 'migrations-db'), migrations: V1 }).then(() => null, (e: Error) => e.message);
    expect(refused).toMatch(/SCHEMA/);
    expect(refused).toMatch(/defines 2 migration\(s\) but the database is at schema version 3/);

    for (const t of [tab1, tab2, tab3]) await t.close();
    const again = await openBatteryTab(user, { ...tabOptions(mode, 'migrations-db'), migrations: V2 });
    expect(await version(again)).toBe(3);
    expect(await rows(again, 'SELECT * FROM notes')).toEqual([{ id: 'n1', body: 'first', pinned: 1 }]);
  });
});
