/**
 * Acceptance of versioned migrations and ALTER on synced tables through the public path only:
 * connectBattery({ migrations }) / Battery.exec / getSchemaVersion in a faked browser (one
 * SharedWorker hub over a durable replica on an in-memory store that outlives worker restarts).
 * Each case is a sentence of the README ("Migrations and schema changes") or of issue 14.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectBattery } from '../../../lib/connect-battery.js';
import type { Battery } from '../../../lib/battery.js';
import { Ledger } from '../../../lib/ledger.js';
import { decode } from '@msgpack/msgpack';
import { readFileSync } from 'node:fs';
import { BatteryError } from '../../../shared-worker/protocol/errors.js';
import { openDurableReplica } from '../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../shared-worker/replica/replica.js';
import { browserOptions as options, fakeBrowser } from './fake-browser.js';

const NOTES = 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, content TEXT)';

describe('migrations through connectBattery', () => {
  const opened: Battery[] = [];
  const open = async (migrations?: unknown[]): Promise<Battery> => {
    const b = await connectBattery({ ...options, ...(migrations ? { migrations: migrations as never } : {}) });
    opened.push(b);
    return b;
  };
  const rows = async (b: Battery, sql: string) => (await b.exec(sql)).rows;
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
    vi.unstubAllGlobals();
  });

  it('takes SQL strings and { sql } objects, several statements per step; the version is the number of steps', async () => {
    fakeBrowser();
    const db = await open([
      `${NOTES}; CREATE INDEX notes_content ON notes(content)`,
      { sql: "INSERT INTO notes VALUES ('n1', 'a'); INSERT INTO notes VALUES ('n2', 'b')" },
      'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
    ]);
    expect(db.getSchemaVersion()).toBe(3);
    expect(await rows(db, 'SELECT * FROM notes ORDER BY id')).toEqual([{ id: 'n1', content: 'a', pinned: 0 }, { id: 'n2', content: 'b', pinned: 0 }]);
    expect(await rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'notes_content'")).toHaveLength(1);
  });

  it('no migrations and an empty list both leave the version at 0', async () => {
    fakeBrowser();
    expect((await open()).getSchemaVersion()).toBe(0);
    expect((await open([])).getSchemaVersion()).toBe(0);
  });

  it('two tabs opening at once with the same list apply each step once', async () => {
    const browser = fakeBrowser();
    const list = [NOTES, "INSERT INTO notes VALUES ('once', 'x')", 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'];
    const [a, b] = await Promise.all([open(list), open(list)]);
    expect(browser.instances).toHaveLength(1);
    expect(a.getSchemaVersion()).toBe(3);
    expect(b.getSchemaVersion()).toBe(3);
    expect(await rows(a, 'SELECT * FROM notes')).toEqual([{ id: 'once', content: 'x', pinned: 0 }]);
  });

  it('the version survives a reload of every tab (a new worker on the same storage) and nothing runs twice', async () => {
    const browser = fakeBrowser();
    const list = [NOTES, "INSERT INTO notes VALUES ('once', 'x')"];
    const a = await open(list);
    await a.enableSync('notes');
    await a.close();
    opened.splice(0);
    browser.instances[0]!.kill();
    const b = await open([...list, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0']);
    expect(browser.instances).toHaveLength(2);
    expect(b.getSchemaVersion()).toBe(3);
    await b.enableSync('notes');
    await b.exec("UPDATE notes SET pinned = 1 WHERE id = 'once'");
    await b.close();
    opened.splice(0);
    browser.instances[1]!.kill();
    const c = await open([...list, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0']);
    expect(c.getSchemaVersion()).toBe(3);
    expect(await rows(c, 'SELECT * FROM notes')).toEqual([{ id: 'once', content: 'x', pinned: 1 }]);
  });

  it('a tab with an older list than the replica is refused with SCHEMA naming both versions, and changes nothing', async () => {
    fakeBrowser();
    const v3 = [NOTES, "INSERT INTO notes VALUES ('n1', 'x')", 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'];
    const a = await open(v3);
    await a.enableSync('notes');
    const err = await connectBattery({ ...options, migrations: v3.slice(0, 2) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatteryError);
    expect(err).toMatchObject({ code: 'SCHEMA' });
    expect((err as Error).message).toMatch(/\b2\b/);
    expect((err as Error).message).toMatch(/\b3\b/);
    expect(a.getSchemaVersion()).toBe(3);
    expect(await rows(a, 'SELECT * FROM notes')).toEqual([{ id: 'n1', content: 'x', pinned: 0 }]);
  });

  it('a failing step rolls back whole (every statement of it) and reports SCHEMA with its index and SQLite\'s message; earlier steps stay; a fixed list resumes', async () => {
    fakeBrowser();
    const good = [NOTES, "INSERT INTO notes VALUES ('n1', 'x')"];
    const bad = [...good, "INSERT INTO notes VALUES ('n2', 'y'); INSERT INTO missing_table VALUES (1)"];
    const err = await connectBattery({ ...options, migrations: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatteryError);
    expect(err).toMatchObject({ code: 'SCHEMA' });
    expect((err as Error).message).toMatch(/migration 2 \(step 3\)/);
    expect((err as Error).message).toMatch(/no such table: missing_table/);
    const db = await open(good);
    expect(db.getSchemaVersion()).toBe(2);
    expect(await rows(db, 'SELECT id FROM notes')).toEqual([{ id: 'n1' }]);
    const fixed = await open([...good, "INSERT INTO notes VALUES ('n2', 'y')"]);
    expect(fixed.getSchemaVersion()).toBe(3);
    expect(await rows(fixed, 'SELECT id FROM notes ORDER BY id')).toEqual([{ id: 'n1' }, { id: 'n2' }]);
  });

  it('invalid lists and entries are a typed SCHEMA error naming the entry, before anything opens', async () => {
    const browser = fakeBrowser();
    for (const [list, where] of [
      ['CREATE TABLE t (x)', /migrations/],
      [{ 0: 'CREATE TABLE t (x)' }, /migrations/],
      [[NOTES, null], /\[1\]/],
      [[NOTES, 7], /\[1\]/],
      [[{}], /\[0\]/],
      [[{ sql: '' }], /\[0\]/],
      [['   '], /\[0\]/],
      [[['SELECT 1']], /\[0\]/],
      [[NOTES, { sql: 42 }], /\[1\]/],
      // A hole in a sparse list (a stray comma): caught here, not when its turn comes after step 0 ran.
      // eslint-disable-next-line no-sparse-arrays
      [[NOTES, , 'SELECT 1'], /\[1\]/],
    ] as Array<[unknown, RegExp]>) {
      const err = await connectBattery({ ...options, migrations: list as never }).catch((e: unknown) => e);
      expect(err, JSON.stringify(list)).toBeInstanceOf(BatteryError);
      expect(err).toMatchObject({ code: 'SCHEMA' });
      expect((err as Error).message).toMatch(where);
    }
    expect(browser.instances).toHaveLength(0);
  });

  it('new Ledger({ migrations }) applies them on init() and reads getSchemaVersion()', async () => {
    fakeBrowser();
    const ledger = new Ledger({ ...options, migrations: [NOTES, { sql: 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0' }] });
    await ledger.init();
    try {
      expect(ledger.getSchemaVersion()).toBe(2);
      await ledger.exec("INSERT INTO notes (id) VALUES ('n')");
      expect((await ledger.exec('SELECT pinned FROM notes')).rows).toEqual([{ pinned: 0 }]);
    } finally {
      await ledger.close();
    }
  });
});

describe('ALTER on a synced table through Battery.exec and migrations', () => {
  const opened: Battery[] = [];
  const open = async (migrations?: unknown[]): Promise<Battery> => {
    const b = await connectBattery({ ...options, ...(migrations ? { migrations: migrations as never } : {}) });
    opened.push(b);
    return b;
  };
  const rows = async (b: Battery, sql: string) => (await b.exec(sql)).rows;
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
    vi.unstubAllGlobals();
  });

  async function syncedNotes(): Promise<Battery> {
    fakeBrowser();
    const db = await open([NOTES, "INSERT INTO notes VALUES ('n1', 'a'), ('n2', 'b')"]);
    await db.enableSync('notes');
    return db;
  }

  it('ADD COLUMN in exec: NOT NULL DEFAULT, a CHECK constraint, odd case and quotes; existing rows read the default', async () => {
    const db = await syncedNotes();
    await db.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    await db.exec("ALTER TABLE notes ADD COLUMN prio INTEGER DEFAULT 1 CHECK (prio BETWEEN 0 AND 9)");
    await db.exec('ALTER TABLE notes ADD COLUMN "Odd ""Name"" Col" TEXT DEFAULT \'d\'');
    await db.exec('ALTER TABLE notes ADD COLUMN MixedCase TEXT');
    expect(await rows(db, 'SELECT * FROM notes ORDER BY id')).toEqual([
      { id: 'n1', content: 'a', pinned: 0, prio: 1, 'Odd "Name" Col': 'd', MixedCase: null },
      { id: 'n2', content: 'b', pinned: 0, prio: 1, 'Odd "Name" Col': 'd', MixedCase: null },
    ]);
    await expect(db.exec("UPDATE notes SET prio = 10 WHERE id = 'n1'")).rejects.toMatchObject({ code: 'SQL', message: expect.stringMatching(/CHECK/) });
    await db.exec('UPDATE notes SET "Odd ""Name"" Col" = ?, mixedcase = ? WHERE id = ?', ['x', 'm', 'n1']);
    expect(await rows(db, "SELECT * FROM notes WHERE id = 'n1'")).toEqual([{ id: 'n1', content: 'a', pinned: 0, prio: 1, 'Odd "Name" Col': 'x', MixedCase: 'm' }]);
    await db.exec('ALTER TABLE notes DROP COLUMN "Odd ""Name"" Col"');
    expect(await rows(db, "SELECT * FROM notes WHERE id = 'n1'")).toEqual([{ id: 'n1', content: 'a', pinned: 0, prio: 1, MixedCase: 'm' }]);
  });

  it('ADD then writes then DROP then re-ADD of the same column, with writes in between', async () => {
    const db = await syncedNotes();
    await db.exec('ALTER TABLE notes ADD COLUMN tag TEXT');
    await db.exec("UPDATE notes SET tag = 'first' WHERE id = 'n1'");
    await db.exec('ALTER TABLE notes DROP COLUMN tag');
    await db.exec("INSERT INTO notes VALUES ('n3', 'c')");
    expect(await rows(db, 'SELECT * FROM notes ORDER BY id')).toEqual([{ id: 'n1', content: 'a' }, { id: 'n2', content: 'b' }, { id: 'n3', content: 'c' }]);
    await db.exec('ALTER TABLE notes ADD COLUMN tag TEXT');
    await db.exec("UPDATE notes SET tag = 'again' WHERE id = 'n2'");
    // docs/schema-evolution.md: a dropped column's cells are kept; re-adding the name brings them back.
    expect(await rows(db, 'SELECT id, tag FROM notes ORDER BY id')).toEqual([{ id: 'n1', tag: 'first' }, { id: 'n2', tag: 'again' }, { id: 'n3', tag: null }]);
  });

  it('a step that creates a new table, then enableSync on it, then a step that alters it', async () => {
    fakeBrowser();
    const base = [NOTES, 'CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL)'];
    const db = await open(base);
    await db.enableSync('notes');
    await db.enableSync('tags');
    await db.exec("INSERT INTO tags VALUES (1, 'red')");
    const later = await open([...base, "ALTER TABLE tags ADD COLUMN color TEXT DEFAULT '#f00'"]);
    expect(later.getSchemaVersion()).toBe(3);
    expect(await rows(later, 'SELECT * FROM tags')).toEqual([{ id: 1, label: 'red', color: '#f00' }]);
  });

  it('RENAME COLUMN / RENAME TO / DROP TABLE are refused with SCHEMA saying what to do instead, and change nothing', async () => {
    const db = await syncedNotes();
    const refusals: Array<[string, RegExp]> = [
      ['ALTER TABLE notes RENAME COLUMN content TO body', /add .*copy|new column/i],
      ['ALTER TABLE notes RENAME TO notes2', /new table|copy/i],
      ['DROP TABLE notes', /synced/i],
    ];
    for (const [sql, hint] of refusals) {
      const err = await db.exec(sql).catch((e: unknown) => e);
      expect(err, sql).toBeInstanceOf(BatteryError);
      expect(err, sql).toMatchObject({ code: 'SCHEMA' });
      expect((err as Error).message, sql).toMatch(hint);
    }
    expect(await rows(db, 'SELECT * FROM notes ORDER BY id')).toEqual([{ id: 'n1', content: 'a' }, { id: 'n2', content: 'b' }]);
    await db.exec("UPDATE notes SET content = 'still works' WHERE id = 'n1'");
  });

  it('a type change by DROP and re-ADD of the same name is refused with SCHEMA (in one exec and across two)', async () => {
    const db = await syncedNotes();
    for (const steps of [
      ['ALTER TABLE notes DROP COLUMN content; ALTER TABLE notes ADD COLUMN content INTEGER'],
      ['ALTER TABLE notes DROP COLUMN content', 'ALTER TABLE notes ADD COLUMN content INTEGER'],
    ]) {
      let err: unknown = null;
      for (const sql of steps) err ??= await db.exec(sql).then(() => null, (e: unknown) => e);
      expect(err, steps.join(' / ')).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/type/) });
      if (steps.length === 1) expect(await rows(db, 'SELECT * FROM notes ORDER BY id')).toEqual([{ id: 'n1', content: 'a' }, { id: 'n2', content: 'b' }]);
    }
  });

  it('a refused ALTER in a migration step fails that step with SCHEMA and its index; the replica stays at the previous version', async () => {
    fakeBrowser();
    const base = [NOTES];
    const db = await open(base);
    await db.enableSync('notes');
    const err = await connectBattery({ ...options, migrations: [...base, 'ALTER TABLE notes RENAME COLUMN content TO body'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/migration 1 \(step 2\)/) });
    expect((await open(base)).getSchemaVersion()).toBe(1);
  });
});

describe('reopening after migrations', () => {
  afterEach(() => vi.unstubAllGlobals());
  const STEPS = [
    NOTES,
    "INSERT INTO notes VALUES ('n1', 'a')",
    'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
    "UPDATE notes SET pinned = 1 WHERE id = 'n1'; INSERT INTO notes (id, content) VALUES ('n2', 'b')",
    'ALTER TABLE notes DROP COLUMN content',
    "ALTER TABLE notes ADD COLUMN tag TEXT DEFAULT 'none'",
  ];
  /** The table after the first `n` steps, on a replica nobody crashed. */
  async function expected(n: number): Promise<unknown[]> {
    const d = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica, warn: () => {} });
    await d.migrate(STEPS.slice(0, 1));
    await d.enableSync('notes');
    await d.migrate(STEPS.slice(0, n));
    const rows = (await d.exec('SELECT * FROM notes ORDER BY id')).rows;
    await d.close();
    return rows;
  }

  it('a crash at any storage write of a migration: the next start shows an applied prefix of the steps, and finishing it ends as an uncrashed run', async () => {
    const want = await Promise.all(STEPS.map((_, i) => expected(i + 1)));
    let crashedBeforeEnd = 0;
    for (let crashAfter = 0; crashAfter < 12; crashAfter++) {
      const browser = fakeBrowser();
      const first = await connectBattery({ ...options, migrations: STEPS.slice(0, 1) });
      await first.enableSync('notes');
      browser.store().crashAfterWrites(crashAfter);
      const outcome = await Promise.race([
        connectBattery({ ...options, migrations: STEPS }).then(async (b) => {
          await b.close();
          return 'done';
        }, () => 'failed'),
        new Promise((r) => setTimeout(() => r('hung'), 300)),
      ]);
      browser.store().crashAfterWrites(0); // the killed worker writes nothing more (a late snapshot)
      browser.instances[0]!.kill();
      await first.close().catch(() => {});
      // A new worker (every tab reloaded) on what storage holds.
      const look = await connectBattery(options);
      const v = look.getSchemaVersion();
      if (outcome !== 'done') crashedBeforeEnd++;
      expect(v, `crash after ${crashAfter} writes`).toBeGreaterThanOrEqual(1);
      if (outcome === 'done') expect(v).toBe(STEPS.length);
      expect((await look.exec('SELECT * FROM notes ORDER BY id')).rows, `crash after ${crashAfter} writes, version ${v}`).toEqual(want[v - 1]);
      const again = await connectBattery({ ...options, migrations: STEPS });
      await again.enableSync('notes');
      expect(again.getSchemaVersion()).toBe(STEPS.length);
      expect((await again.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual(want[STEPS.length - 1]);
      await look.close();
      await again.close();
      vi.unstubAllGlobals();
    }
    expect(crashedBeforeEnd).toBeGreaterThan(3);
  });

  it('a store written by the 0.1 release (tables made with exec) opens under an app that now passes migrations', async () => {
    const entries = decode(readFileSync(new URL('../shared-worker/persistence/fixtures/release-0.1-store.msgpack', import.meta.url))) as Array<[string, unknown]>;
    fakeBrowser(new Map(entries));
    // The app's first step is what 0.1 created with exec, IF NOT EXISTS: it already exists there.
    const migrations = [
      "CREATE TABLE IF NOT EXISTS notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT DEFAULT '', n INTEGER)",
      'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
      'ALTER TABLE pairs DROP COLUMN v',
    ];
    const db = await connectBattery({ ...options, migrations });
    try {
      await db.enableSync('notes');
      expect(db.getSchemaVersion()).toBe(3);
      expect((await db.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual([
        { id: 'n1', title: 'ONE', body: 'b1', n: 1, pinned: 0 },
        { id: 'n3', title: 'three', body: 'pending', n: 3, pinned: 0 },
        { id: 'n4', title: 'four', body: 'b4', n: 4, pinned: 0 },
      ]);
      expect((await db.exec('SELECT * FROM pairs ORDER BY a')).rows).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
      await db.exec("UPDATE notes SET pinned = 1 WHERE id = 'n3'");
      expect((await db.exec("SELECT pinned FROM notes WHERE id = 'n3'")).rows).toEqual([{ pinned: 1 }]);
    } finally {
      await db.close();
    }
  });
});
