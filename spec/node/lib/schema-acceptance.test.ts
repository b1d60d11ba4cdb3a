/**
 * Outside-tester acceptance of issue 14 through the public page API only (connectBattery /
 * Battery in a faked browser: one SharedWorker hub over a durable replica on in-memory storage):
 * live queries across a schema change, tabs on different lists, step objects with more fields.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectBattery } from '../../../lib/connect-battery.js';
import type { Battery } from '../../../lib/battery.js';
import { Ledger } from '../../../lib/ledger.js';
import type { SqlRow } from '../../../shared-worker/protocol/values.js';
import { browserOptions as options, fakeBrowser } from './fake-browser.js';

const NOTES = 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, content TEXT)';
const PINNED = 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0';

/** Waits macrotask by macrotask until `pred` holds (the vitest timeout bounds a hang). */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 1));
}

describe('schema changes seen through the public API', () => {
  const opened: Battery[] = [];
  const open = async (migrations?: unknown[]): Promise<Battery> => {
    const b = await connectBattery({ ...options, ...(migrations ? { migrations: migrations as never } : {}) });
    opened.push(b);
    return b;
  };
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close().catch(() => {});
    vi.unstubAllGlobals();
  });

  it('a live SELECT * shows an added column (its DEFAULT in existing rows) and loses a dropped one, in this tab and another', async () => {
    fakeBrowser();
    const a = await open([NOTES, "INSERT INTO notes VALUES ('n1', 'x')"]);
    await a.enableSync('notes');
    const b = await open([NOTES, "INSERT INTO notes VALUES ('n1', 'x')"]);
    const seenA: SqlRow[][] = [];
    const seenB: SqlRow[][] = [];
    a.watch('SELECT * FROM notes', [], (r) => seenA.push(r.rows));
    b.watch('SELECT * FROM notes', [], (r) => seenB.push(r.rows));
    await until(() => seenA.length === 1 && seenB.length === 1);
    await a.exec(PINNED);
    const added = [{ id: 'n1', content: 'x', pinned: 0 }];
    await until(() => JSON.stringify(seenA.at(-1)) === JSON.stringify(added) && JSON.stringify(seenB.at(-1)) === JSON.stringify(added));
    await b.exec('ALTER TABLE notes DROP COLUMN content');
    const dropped = [{ id: 'n1', pinned: 0 }];
    await until(() => JSON.stringify(seenA.at(-1)) === JSON.stringify(dropped) && JSON.stringify(seenB.at(-1)) === JSON.stringify(dropped));
  });

  it('a tab already open when another tab migrates reads the new version; a tab opening with the old list is refused, the open one keeps working', async () => {
    fakeBrowser();
    const old = await open([NOTES]);
    await old.enableSync('notes');
    await old.exec("INSERT INTO notes VALUES ('n1', 'x')");
    const fresh = await open([NOTES, PINNED, { sql: "UPDATE notes SET pinned = 1 WHERE id = 'n1'", note: 'fields besides sql are allowed' }]);
    expect(fresh.getSchemaVersion()).toBe(3);
    await until(() => old.getSchemaVersion() === 3);
    const err = await connectBattery({ ...options, migrations: [NOTES, PINNED] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA' });
    expect((err as Error).message).toMatch(/\b2\b[^]*\b3\b/);
    await old.exec("INSERT INTO notes (id, content) VALUES ('n2', 'y')");
    expect((await fresh.exec('SELECT id, pinned FROM notes ORDER BY id')).rows).toEqual([{ id: 'n1', pinned: 1 }, { id: 'n2', pinned: 0 }]);
  });

  it('two tabs opening at once with different lists: both end at the newer version or the older one is refused; never a half-applied step', async () => {
    fakeBrowser();
    const v2 = [NOTES, PINNED];
    const v3 = [...v2, 'ALTER TABLE notes ADD COLUMN color TEXT; ALTER TABLE notes DROP COLUMN content'];
    const [older, newer] = await Promise.allSettled([open(v2), open(v3)]);
    expect(newer.status).toBe('fulfilled');
    const db = (newer as PromiseFulfilledResult<Battery>).value;
    expect(db.getSchemaVersion()).toBe(3);
    if (older.status === 'rejected') expect(older.reason).toMatchObject({ code: 'SCHEMA' });
    const cols = (await db.exec("SELECT name FROM pragma_table_info('notes') ORDER BY cid")).rows.map((r) => r.name);
    expect(cols).toEqual(['id', 'pinned', 'color']);
  });

  it('ALTER with parameters in the same exec as writes; a failing exec leaves the schema and the rows as they were', async () => {
    fakeBrowser();
    const db = await open([NOTES]);
    await db.enableSync('notes');
    await db.exec("INSERT INTO notes VALUES ('n1', 'x')");
    const err = await db.exec("ALTER TABLE notes ADD COLUMN tag TEXT DEFAULT 't'; UPDATE notes SET tag = :tag; INSERT INTO notes (id) VALUES (:dup)", { ':tag': 'new', ':dup': 'n1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SQL' });
    expect((await db.exec('SELECT * FROM notes')).rows).toEqual([{ id: 'n1', content: 'x' }]);
    await db.exec("ALTER TABLE notes ADD COLUMN tag TEXT DEFAULT 't'; UPDATE notes SET tag = :tag WHERE id = :id", { ':tag': 'new', ':id': 'n1' });
    expect((await db.exec('SELECT * FROM notes')).rows).toEqual([{ id: 'n1', content: 'x', tag: 'new' }]);
  });

  it('Ledger: a failing step rejects init() with SCHEMA (index and SQLite\'s message), earlier steps stay, a Ledger with the list fixed resumes, an older list is refused naming both versions; a bad list fails at construction', async () => {
    fakeBrowser();
    expect(() => new Ledger({ ...options, migrations: [NOTES, { sql: 7 }] as never })).toThrow(expect.objectContaining({ code: 'SCHEMA', message: expect.stringMatching(/\[1\]/) }));
    const bad = new Ledger({ ...options, migrations: [NOTES, { sql: "INSERT INTO notes VALUES ('n1', 'x')" }, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL'] });
    const err = await bad.init().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/migration 2 \(step 3\)[^]*NOT NULL/) });
    expect(() => bad.getSchemaVersion()).toThrow();
    await bad.close();
    const good = new Ledger({ ...options, migrations: [NOTES, { sql: "INSERT INTO notes VALUES ('n1', 'x')" }, PINNED] });
    await good.init();
    try {
      expect(good.getSchemaVersion()).toBe(3);
      expect((await good.exec('SELECT * FROM notes')).rows).toEqual([{ id: 'n1', content: 'x', pinned: 0 }]);
      const older = new Ledger({ ...options, migrations: [NOTES] });
      await expect(older.init()).rejects.toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/\b1\b[^]*\b3\b/) });
      await older.close();
    } finally {
      await good.close();
    }
  });

  it('the README limits on a migration list: 10 000 steps, 1 048 576 characters a step; past them SCHEMA before anything opens', async () => {
    const browser = fakeBrowser();
    const tooMany = await connectBattery({ ...options, migrations: Array(10_001).fill('SELECT 1') }).catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/10000 steps/) });
    const long = `SELECT '${'x'.repeat(1 << 20)}'`;
    const tooLong = await connectBattery({ ...options, migrations: [NOTES, long] }).catch((e: unknown) => e);
    expect(tooLong).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/\[1\]/) });
    expect(browser.instances).toHaveLength(0);
    const atLimit = await open([NOTES, `SELECT '${'x'.repeat((1 << 20) - 11)}'`]);
    expect(atLimit.getSchemaVersion()).toBe(2);
  });

  it('a live query naming a column another tab drops reports the error to onError; other live queries and the tab keep working', async () => {
    fakeBrowser();
    const a = await open([NOTES, "INSERT INTO notes VALUES ('n1', 'x')"]);
    await a.enableSync('notes');
    const b = await open([NOTES, "INSERT INTO notes VALUES ('n1', 'x')"]);
    const errors: Array<{ code: string }> = [];
    const seen: SqlRow[][] = [];
    const others: SqlRow[][] = [];
    a.watch('SELECT content FROM notes', [], (r) => seen.push(r.rows), (e) => errors.push(e));
    a.watch('SELECT id FROM notes ORDER BY id', [], (r) => others.push(r.rows));
    await until(() => seen.length === 1 && others.length === 1);
    await b.exec('ALTER TABLE notes DROP COLUMN content');
    await b.exec("INSERT INTO notes VALUES ('n2')");
    await until(() => errors.length > 0 && JSON.stringify(others.at(-1)) === JSON.stringify([{ id: 'n1' }, { id: 'n2' }]));
    expect(errors[0]).toMatchObject({ code: 'SQL' });
    expect((await a.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual([{ id: 'n1' }, { id: 'n2' }]);
  });
});
