import { describe, expect, it } from 'vitest';
import { useBrowserSession } from './harness/vitest-session.js';
import { exec, openBatteryTab, rows, waitUntil } from './harness/battery-tab.js';
import { MODES, tabOptions } from './harness/modes.js';

// Issue 10's reproduction as a user meets it: an UPDATE of a synced table keyed by INTEGER
// PRIMARY KEY (the rowid alias), every tab closed, the page opened again. The database must
// open (it used to fail log replay with "UNIQUE constraint failed: t.id") and hold the update.
describe.each(MODES)('a synced INTEGER PRIMARY KEY table reopens after an update (mode %s)', (mode) => {
  const session = useBrowserSession();

  it('insert, update, close every tab, reopen: the row has the updated value', async () => {
    const user = await session().newUser();
    const tab = await openBatteryTab(user, tabOptions(mode, 'reopen-db'));
    await exec(tab, 'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    await tab.evaluate(() => window.db!.enableSync('t'));
    await exec(tab, "INSERT INTO t (id, v) VALUES (0, 'v0')");
    await exec(tab, "UPDATE t SET v = 'c' WHERE id = 0");

    // With its last tab gone the replica's host ends (the SharedWorker, or the leader tab's
    // dedicated worker), so the next tab starts the replica from IndexedDB: snapshot + log replay.
    await tab.close();
    await waitUntil(async () => (await user.sharedWorkerCount()) === 0);
    const reopened = await openBatteryTab(user, tabOptions(mode, 'reopen-db'));
    expect(await rows(reopened, 'SELECT id, v FROM t')).toEqual([{ id: 0, v: 'c' }]);

    // And it keeps working: a write after the reopen survives the next one too.
    await exec(reopened, "UPDATE t SET v = 'd' WHERE id = 0");
    await reopened.close();
    await waitUntil(async () => (await user.sharedWorkerCount()) === 0);
    const again = await openBatteryTab(user, tabOptions(mode, 'reopen-db'));
    expect(await rows(again, 'SELECT id, v FROM t')).toEqual([{ id: 0, v: 'd' }]);
  });
});
