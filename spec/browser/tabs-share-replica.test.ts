import { describe, expect, it } from 'vitest';
import { useBrowserSession } from './harness/vitest-session.js';
import { exec, openBatteryTab, rows } from './harness/battery-tab.js';
import { MODES, tabOptions } from './harness/modes.js';

describe.each(MODES)('tabs of one user share one replica (mode %s)', (mode) => {
  const session = useBrowserSession();

  it('a row inserted in tab 1 is read in tabs 2 and 3', async () => {
    const user = await session().newUser();
    const tab1 = await openBatteryTab(user, tabOptions(mode));
    const tab2 = await openBatteryTab(user, tabOptions(mode));
    const tab3 = await openBatteryTab(user, tabOptions(mode));

    await exec(tab1, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await exec(tab1, 'INSERT INTO notes (id, body) VALUES (?, ?)', ['a', 'from tab 1']);

    expect(await rows(tab2, 'SELECT id, body FROM notes')).toEqual([{ id: 'a', body: 'from tab 1' }]);
    expect(await rows(tab3, 'SELECT id, body FROM notes')).toEqual([{ id: 'a', body: 'from tab 1' }]);
    // One replica, so one node id: three replicas would each have drawn their own.
    const ids = await Promise.all([tab1, tab2, tab3].map((t) => t.evaluate(() => window.db!.getNodeId())));
    expect(new Set(ids).size).toBe(1);
    // The mode is real: one SharedWorker hosts the replica, or none does (the leader's dedicated worker).
    expect(await user.sharedWorkerCount()).toBe(mode === 'shared' ? 1 : 0);
    const dedicatedWorkers = [tab1, tab2, tab3].reduce((n, t) => n + t.workers().length, 0);
    expect(dedicatedWorkers).toBe(mode === 'shared' ? 0 : 1);
  });

  it('a watch in tab 3 fires for a write in tab 2, and tab 3 gets a change event', async () => {
    const user = await session().newUser();
    const tab1 = await openBatteryTab(user, tabOptions(mode));
    const tab2 = await openBatteryTab(user, tabOptions(mode));
    const tab3 = await openBatteryTab(user, tabOptions(mode));
    await exec(tab1, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');

    await tab3.evaluate(async () => {
      window.watchResults = [];
      await window.db!.watch('SELECT id, body FROM notes ORDER BY id', [], (result) => {
        window.watchResults!.push(result);
      });
    });
    await exec(tab2, 'INSERT INTO notes (id, body) VALUES (?, ?)', ['b', 'from tab 2']);

    await tab3.waitForFunction(
      () => window.watchResults!.some((r) => r.rows.length === 1 && r.rows[0]!.body === 'from tab 2'),
      { polling: 50, timeout: 0 },
    );
    await tab3.waitForFunction(
      () => window.batteryEvents!.some((e) => e.name === 'change' && JSON.stringify(e.args).includes('notes')),
      { polling: 50, timeout: 0 },
    );
    const latest = await tab3.evaluate(() => window.watchResults!.at(-1)!.rows);
    expect(latest).toEqual([{ id: 'b', body: 'from tab 2' }]);
  });

  it('an unsubscribed watch stops firing while another watch on the same table keeps firing', async () => {
    const user = await session().newUser();
    const tab1 = await openBatteryTab(user, tabOptions(mode));
    const tab2 = await openBatteryTab(user, tabOptions(mode));
    await exec(tab1, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await tab2.evaluate(async () => {
      const w = window as unknown as { stopped: number[]; kept: number[]; stop: () => void };
      w.stopped = [];
      w.kept = [];
      w.stop = await window.db!.watch('SELECT count(*) AS n FROM notes', [], (r) => w.stopped.push(Number(r.rows[0]!.n)));
      await window.db!.watch('SELECT count(*) AS n FROM notes', [], (r) => w.kept.push(Number(r.rows[0]!.n)));
    });
    await exec(tab1, "INSERT INTO notes VALUES ('1', 'x')");
    await tab2.waitForFunction(() => (window as unknown as { stopped: number[] }).stopped.includes(1), { polling: 50, timeout: 0 });
    await tab2.evaluate(() => (window as unknown as { stop: () => void }).stop());
    await exec(tab1, "INSERT INTO notes VALUES ('2', 'y')");
    // Both watches read the same table, so they are re-run by the same change: once the kept one
    // has seen 2 rows, the stopped one would have too.
    await tab2.waitForFunction(() => (window as unknown as { kept: number[] }).kept.includes(2), { polling: 50, timeout: 0 });
    expect(await tab2.evaluate(() => (window as unknown as { stopped: number[] }).stopped)).not.toContain(2);
  });
});
