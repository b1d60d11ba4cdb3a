import { describe, expect, it } from 'vitest';
import { useBrowserSession } from './harness/vitest-session.js';
import { exec, openBatteryTab, rows } from './harness/battery-tab.js';
import { MODES, tabOptions } from './harness/modes.js';

describe.each(MODES)('two browser profiles are two users (mode %s)', (mode) => {
  const session = useBrowserSession();

  it('keep separate databases under the same dbName and origin', async () => {
    const alice = await session().newUser('alice');
    const bob = await session().newUser('bob');
    const aliceTab = await openBatteryTab(alice, tabOptions(mode));
    const bobTab = await openBatteryTab(bob, tabOptions(mode));

    await exec(aliceTab, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await exec(aliceTab, "INSERT INTO notes VALUES ('a1', 'alice only')");

    const bobTables = await rows(bobTab, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'notes'");
    expect(bobTables).toEqual([]);

    await exec(bobTab, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await exec(bobTab, "INSERT INTO notes VALUES ('b1', 'bob only')");
    expect(await rows(aliceTab, 'SELECT id FROM notes')).toEqual([{ id: 'a1' }]);
    expect(await rows(bobTab, 'SELECT id FROM notes')).toEqual([{ id: 'b1' }]);

    const aliceNode = await aliceTab.evaluate(() => window.db!.getNodeId());
    const bobNode = await bobTab.evaluate(() => window.db!.getNodeId());
    expect(aliceNode).not.toBe(bobNode);

    // A second tab of each user joins that user's replica, not the other's.
    const aliceTab2 = await openBatteryTab(alice, tabOptions(mode));
    expect(await rows(aliceTab2, 'SELECT id FROM notes')).toEqual([{ id: 'a1' }]);
  });
});
