import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { useBrowserSession } from './harness/vitest-session.js';
import { canCrashTabs, crashRenderer } from './harness/browser-session.js';
import { eventNames, exec, isLeader, openBatteryTab, openBatteryTabs, rows, waitUntil } from './harness/battery-tab.js';
import { MODES, tabOptions } from './harness/modes.js';

/** Waits until exactly one of `tabs` reports isLeader() and returns it. */
async function soleLeader(tabs: Page[]): Promise<Page> {
  return waitUntil(async () => {
    const flags = await Promise.all(tabs.map(isLeader));
    return flags.filter(Boolean).length === 1 ? tabs[flags.indexOf(true)] : undefined;
  });
}

describe.each(MODES)('leader election (mode %s)', (mode) => {
  const session = useBrowserSession();

  // Only Chromium can crash one tab from the test (see crashRenderer); Firefox runs the close case.
  const ways = canCrashTabs() ? (['closed', 'crashed'] as const) : (['closed'] as const);
  for (const how of ways) {
    it(`when the leader tab is ${how}, another tab becomes leader and every tab keeps working`, async () => {
      const user = await session().newUser();
      const tabs = await openBatteryTabs(user, 3, tabOptions(mode));
      await exec(tabs[0]!, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
      await exec(tabs[1]!, "INSERT INTO notes VALUES ('before', 'written before the leader left')");

      const log = session().log;
      const oldLeader = await soleLeader(tabs);
      log.add('test', `tab${tabs.indexOf(oldLeader) + 1} is leader; it will be ${how}`);
      const survivors = tabs.filter((t) => t !== oldLeader);
      if (how === 'closed') await oldLeader.close();
      else await crashRenderer(oldLeader);

      log.add('test', 'waiting for exactly one surviving tab to report isLeader()');
      const newLeader = await soleLeader(survivors);
      log.add('test', `tab${tabs.indexOf(newLeader) + 1} is leader; waiting for its leader event`);
      await newLeader.waitForFunction(() => window.batteryEvents!.some((e) => e.name === 'leader'), { polling: 50, timeout: 0 });
      const follower = survivors.find((t) => t !== newLeader)!;
      expect(await eventNames(follower)).not.toContain('leader');

      log.add('test', 'writing from the follower');
      await exec(follower, "INSERT INTO notes VALUES ('after', 'written after')");
      for (const tab of survivors) {
        expect(await rows(tab, 'SELECT id FROM notes ORDER BY id')).toEqual([{ id: 'after' }, { id: 'before' }]);
      }
    });
  }

  it('a tab opened after the first is not leader while the first lives', async () => {
    const user = await session().newUser();
    const first = await openBatteryTab(user, tabOptions(mode));
    await waitUntil(() => isLeader(first));
    const second = await openBatteryTab(user, tabOptions(mode));
    await exec(second, 'SELECT 1');
    expect(await isLeader(second)).toBe(false);
    expect(await isLeader(first)).toBe(true);
  });
});
