import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { useBrowserSession } from './harness/vitest-session.js';
import { exec, openBatteryTab, rows, settle, tryExec, type Outcome } from './harness/battery-tab.js';
import { MODES, tabOptions } from './harness/modes.js';

function expectFailure(outcome: Outcome<unknown>, code: string): void {
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: false, code, name: 'BatteryError' });
  if (!outcome.ok) expect(outcome.message.length).toBeGreaterThan(10);
}

describe.each(MODES)('bad input from a page (mode %s)', (mode) => {
  const session = useBrowserSession();

  /** Two tabs on a database with one synced table holding one row. */
  async function setup(): Promise<[Page, Page]> {
    const user = await session().newUser();
    const tab1 = await openBatteryTab(user, tabOptions(mode));
    const tab2 = await openBatteryTab(user, tabOptions(mode));
    await exec(tab1, 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await tab1.evaluate(() => window.db!.enableSync('notes'));
    await exec(tab1, "INSERT INTO notes VALUES ('ok', 'fine')");
    return [tab1, tab2];
  }

  /** The worker still serves both tabs: reads, and a write in one seen by the other. */
  async function expectStillServing(tab1: Page, tab2: Page, id: string): Promise<void> {
    await exec(tab2, 'INSERT INTO notes VALUES (?, ?)', [id, 'after bad input']);
    expect(await rows(tab1, 'SELECT id FROM notes WHERE id = ?', [id])).toEqual([{ id }]);
    expect(await rows(tab2, "SELECT body FROM notes WHERE id = 'ok'")).toEqual([{ body: 'fine' }]);
  }

  it('malformed SQL is a SQL error, and changes nothing', async () => {
    const [tab1, tab2] = await setup();
    expectFailure(await tryExec(tab1, 'SELEC * FRM notes'), 'SQL');
    expectFailure(await tryExec(tab2, 'SELECT * FROM no_such_table'), 'SQL');
    // A multi-statement call is atomic: the insert before the broken statement is undone.
    expectFailure(await tryExec(tab1, "INSERT INTO notes VALUES ('half', 'x'); INSERT INTO nope VALUES (1)"), 'SQL');
    expect(await rows(tab2, "SELECT id FROM notes WHERE id = 'half'")).toEqual([]);
    await expectStillServing(tab1, tab2, 'after-sql');
  });

  it('parameters of the wrong type are a SQL error', async () => {
    const [tab1, tab2] = await setup();
    // Values SQLite cannot bind, including ones structured clone cannot carry to the worker.
    const calls: Array<[Page, string]> = [
      [tab1, "db.exec('SELECT ?', [{ nested: 1 }])"],
      [tab1, "db.exec('SELECT ?', [() => 1])"],
      [tab2, "db.exec('SELECT ?', [Symbol('s')])"],
      [tab2, "db.exec('SELECT ?', 'not an array or object')"],
      [tab1, 'db.exec(42)'],
    ];
    const outcomes = [];
    for (const [tab, call] of calls) outcomes.push({ call, ...(await settle(tab, call)) });
    await expectStillServing(tab1, tab2, 'after-params');
    // All at once, so a failure shows every case.
    expect(outcomes.map((o) => ({ call: o.call, ok: o.ok, code: o.ok ? undefined : o.code })), JSON.stringify(outcomes, null, 1))
      .toEqual(calls.map(([, call]) => ({ call, ok: false, code: 'SQL' })));
    for (const outcome of outcomes) expectFailure(outcome, 'SQL');
  });

  it('enableSync on a table that cannot merge safely is a SCHEMA error', async () => {
    const [tab1, tab2] = await setup();
    await exec(tab1, 'CREATE TABLE no_key (a TEXT, b TEXT)');
    await exec(tab1, 'CREATE TABLE nullable_key (id TEXT PRIMARY KEY, b TEXT)');
    await exec(tab1, 'CREATE TABLE extra_unique (id TEXT PRIMARY KEY NOT NULL, email TEXT UNIQUE)');
    for (const table of ['no_key', 'nullable_key', 'extra_unique']) {
      expectFailure(await settle(tab2, `db.enableSync(${JSON.stringify(table)})`), 'SCHEMA');
    }
    // A refused table stays an ordinary, writable table.
    await exec(tab1, "INSERT INTO no_key VALUES ('x', 'y')");
    expect(await rows(tab2, 'SELECT a FROM no_key')).toEqual([{ a: 'x' }]);
    await expectStillServing(tab1, tab2, 'after-schema');
  });

  it('execLocal refuses to write a synced table (BAD_OP)', async () => {
    const [tab1, tab2] = await setup();
    expectFailure(await settle(tab1, "db.execLocal(\"INSERT INTO notes VALUES ('local', 'x')\")"), 'BAD_OP');
    expect(await rows(tab2, "SELECT id FROM notes WHERE id = 'local'")).toEqual([]);
    await expectStillServing(tab1, tab2, 'after-local');
  });
});
