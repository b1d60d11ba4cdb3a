import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { useBrowserSession } from './harness/vitest-session.js';
import { canCrashTabs, crashRenderer } from './harness/browser-session.js';
import { connectTab, exec, openBatteryTab, openBatteryTabs, rows, waitUntil } from './harness/battery-tab.js';
import { MODES, tabOptions } from './harness/modes.js';

/** ids in `table`, ascending. */
async function ids(page: Page, table: string): Promise<number[]> {
  return (await rows(page, `SELECT id FROM ${table} ORDER BY id`)).map((r) => Number(r.id));
}

describe.each(MODES)('the replica survives tabs going away (mode %s)', (mode) => {
  const session = useBrowserSession();

  it('reloading every tab, then closing them all, keeps the data', async () => {
    const user = await session().newUser();
    const tabs = await openBatteryTabs(user, 3, tabOptions(mode));
    await exec(tabs[0]!, 'CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, label TEXT)');
    await exec(tabs[0]!, 'CREATE TABLE scratch (k TEXT, v TEXT)'); // not synced: a different log path
    await tabs[0]!.evaluate(() => window.db!.enableSync('items'));
    for (const [i, tab] of tabs.entries()) {
      await exec(tab, 'INSERT INTO items (id, label) VALUES (?, ?)', [i + 1, `written by tab ${i + 1}`]);
    }
    await exec(tabs[1]!, "INSERT INTO scratch VALUES ('k', 'v')");

    for (const tab of tabs) {
      await tab.reload({ waitUntil: 'load' });
      await connectTab(tab, tabOptions(mode));
    }
    for (const tab of tabs) {
      expect(await ids(tab, 'items')).toEqual([1, 2, 3]);
      expect(await rows(tab, 'SELECT k, v FROM scratch')).toEqual([{ k: 'k', v: 'v' }]);
    }

    // With every tab gone the replica's host is gone too; a new tab starts it from IndexedDB.
    for (const tab of tabs) await tab.close();
    await waitUntil(async () => (await user.sharedWorkerCount()) === 0);
    const fresh = await openBatteryTab(user, tabOptions(mode));
    expect(await ids(fresh, 'items')).toEqual([1, 2, 3]);
    expect(await rows(fresh, 'SELECT label FROM items WHERE id = 2')).toEqual([{ label: 'written by tab 2' }]);
    expect(await rows(fresh, 'SELECT k, v FROM scratch')).toEqual([{ k: 'k', v: 'v' }]);
  });

  // Only Chromium can crash one tab from the test (see crashRenderer).
  if (canCrashTabs()) it('crashing the writing tab mid-burst loses no write whose exec had resolved', async () => {
    const user = await session().newUser();
    const writer = await openBatteryTab(user, tabOptions(mode), `${user.name}/writer`);
    const other = await openBatteryTab(user, tabOptions(mode), `${user.name}/other`);
    await exec(writer, 'CREATE TABLE burst (id INTEGER PRIMARY KEY NOT NULL, payload TEXT)');
    await writer.evaluate(() => window.db!.enableSync('burst'));

    // Each acknowledgement goes to the test process the moment exec resolves (a CDP binding call
    // is sent synchronously), so what we hold is a lower bound of what was acknowledged.
    const acked = new Set<number>();
    await writer.exposeFunction('reportAck', (id: number) => void acked.add(id));
    await writer.evaluate(() => {
      const w = window as unknown as { reportAck: (id: number) => void };
      let next = 0;
      // Keep 16 writes in flight until the renderer dies: the crash lands between an exec's
      // storage commit and its acknowledgement for some of them.
      const pump = (): void => {
        const id = next++;
        window.db!.exec('INSERT INTO burst (id, payload) VALUES (?, ?)', [id, 'x'.repeat(200)]).then(
          () => {
            w.reportAck(id);
            pump();
          },
          (e: unknown) => console.error('burst write failed', id, e),
        );
      };
      for (let i = 0; i < 16; i++) pump();
    });
    await waitUntil(async () => acked.size >= 200);
    await crashRenderer(writer);
    const ackedAtCrash = [...acked].sort((a, b) => a - b);

    // The surviving tab may have lost its replica host with the crash (dedicated mode: the
    // writer was the leader hosting it); a new tab gets whichever host is current.
    const after = await openBatteryTab(user, tabOptions(mode), `${user.name}/after-crash`);
    const present = new Set(await ids(after, 'burst'));
    expect(ackedAtCrash.filter((id) => !present.has(id))).toEqual([]);

    // And from storage alone: close everything, start fresh.
    await other.close();
    await after.close();
    await waitUntil(async () => (await user.sharedWorkerCount()) === 0);
    const fresh = await openBatteryTab(user, tabOptions(mode), `${user.name}/fresh`);
    const durable = new Set(await ids(fresh, 'burst'));
    expect(ackedAtCrash.filter((id) => !durable.has(id))).toEqual([]);
  });
});
