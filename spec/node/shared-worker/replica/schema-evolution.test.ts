/**
 * ADD/DROP COLUMN on synced tables, the refused ALTER forms, and peers whose tables differ by
 * columns (cells of columns one side lacks are kept, forwarded and materialized).
 */
import { describe, expect, it } from 'vitest';
import { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import { schemasCompatible } from '../../../../shared-worker/replica/contracts/schema-descriptor.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { dump, exchangeAll, pull, registers, syncedReplica } from './replica-helpers.js';

const NOTES = 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT)';

describe('ALTER TABLE on a synced table', () => {
  it('ADD COLUMN: existing rows read the default until written; the write syncs', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1'), ('n2', 't2', 'b2')");
    pull(b, a);
    a.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    b.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    expect(a.exec('SELECT pinned FROM notes ORDER BY id').rows).toEqual([{ pinned: 0 }, { pinned: 0 }]);
    a.exec("UPDATE notes SET pinned = 1 WHERE id = 'n1'");
    a.exec("INSERT INTO notes VALUES ('n3', 't3', 'b3', 1)");
    exchangeAll([a, b]);
    expect(dump(b)).toBe(dump(a));
    expect(registers(b)).toBe(registers(a));
    expect(b.exec('SELECT id, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', pinned: 1 }, { id: 'n2', pinned: 0 }, { id: 'n3', pinned: 1 }]);
  });

  it('the table named by a string literal or quoted in any form (SQLite takes them as its name) alters the same way', async () => {
    for (const [table, drop] of [["'notes'", "'notes'"], ['"notes"', '[notes]'], ['main.`NOTES`', "main.'notes'"]]) {
      const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
      const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
      a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
      a.exec(`ALTER TABLE ${table} ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0`);
      a.exec("UPDATE notes SET pinned = 1 WHERE id = 'n1'");
      a.exec(`ALTER TABLE ${drop} DROP COLUMN body`);
      b.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
      pull(b, a);
      expect(b.exec('SELECT id, title, body, pinned FROM notes').rows).toEqual([{ id: 'n1', title: 't1', body: 'b1', pinned: 1 }]);
      expect(() => a.exec(`ALTER TABLE ${table} RENAME COLUMN title TO name`)).toThrow(/renaming a synced table/);
    }
  });

  it('an older peer keeps the cells of a column it lacks, forwards them, and shows them once it adds the column', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    const { r: c } = await syncedReplica('cccccccccccccccc', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
    exchangeAll([a, b, c]);
    a.exec("ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; UPDATE notes SET pinned = 7 WHERE id = 'n1'");
    a.exec("INSERT INTO notes VALUES ('n2', 't2', 'b2', 5)");
    c.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    // b (without the column) hears from a, then c hears only from b.
    pull(b, a);
    b.exec("UPDATE notes SET title = 'T1' WHERE id = 'n1'");
    expect(b.exec('SELECT * FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', title: 'T1', body: 'b1' }, { id: 'n2', title: 't2', body: 'b2' }]);
    pull(c, b);
    expect(c.exec('SELECT id, title, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', title: 'T1', pinned: 7 }, { id: 'n2', title: 't2', pinned: 5 }]);
    b.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    expect(b.exec('SELECT id, title, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', title: 'T1', pinned: 7 }, { id: 'n2', title: 't2', pinned: 5 }]);
    exchangeAll([a, b, c]);
    expect(dump(b)).toBe(dump(a));
    expect(dump(c)).toBe(dump(a));
    expect(registers(b)).toBe(registers(a));
    expect(registers(c)).toBe(registers(a));
  });

  it('a key change on the older peer carries the kept cells to the new key, as one on a peer with the column moves its value', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    a.exec("ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; INSERT INTO notes VALUES ('n1', 't1', 'b1', 7), ('n2', 't2', 'b2', 5)");
    pull(b, a);
    // b lacks the column; its key changes (two statement forms) move the cells with the rows.
    b.exec("UPDATE notes SET id = 'm1' WHERE id = 'n1'");
    b.exec("UPDATE notes SET id = id || 'x', title = 'T2' WHERE id = 'n2'");
    pull(a, b);
    expect(a.exec('SELECT id, title, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'm1', title: 't1', pinned: 7 }, { id: 'n2x', title: 'T2', pinned: 5 }]);
    b.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    exchangeAll([a, b]);
    expect(dump(b)).toBe(dump(a));
    expect(registers(b)).toBe(registers(a));
  });

  it('the carried cells are in the key change\'s commit (what live sync sends and the durable log keeps)', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    a.exec("ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; INSERT INTO notes VALUES ('n1', 't1', 'b1', 7)");
    pull(b, a);
    const live: Commit[] = [];
    b.onCommit((c) => live.push(c));
    b.exec("UPDATE notes SET id = 'm1' WHERE id = 'n1'");
    // Live sync sends only the commit's changes; the vector then says a has everything.
    for (const c of live) a.applyChanges(c.changes!);
    expect(pull(a, b)).toBe(0);
    expect(a.exec('SELECT id, pinned FROM notes').rows).toEqual([{ id: 'm1', pinned: 7 }]);
  });

  it('DROP COLUMN: the column goes, its cells are still forwarded to a peer that has it', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    const { r: c } = await syncedReplica('cccccccccccccccc', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1'), ('n2', 't2', 'b2')");
    pull(b, a);
    b.exec("UPDATE notes SET title = 'x' WHERE id = 'n2'; ALTER TABLE notes DROP COLUMN title; UPDATE notes SET body = 'B1' WHERE id = 'n1'");
    expect(b.exec('SELECT * FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', body: 'B1' }, { id: 'n2', body: 'b2' }]);
    pull(c, b);
    expect(c.exec('SELECT * FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', title: 't1', body: 'B1' }, { id: 'n2', title: 'x', body: 'b2' }]);
    b.exec("DELETE FROM notes WHERE id = 'n2'");
    exchangeAll([a, b, c]);
    expect(dump(c)).toBe(dump(a));
    expect(a.exec('SELECT * FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', title: 't1', body: 'B1' }]);
  });

  it('DROP COLUMN: the commit that wrote a cell and then dropped its column carries that cell to live peers', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
    pull(b, a);
    const commits: Commit[] = [];
    a.onCommit((c) => commits.push(c));
    a.exec("UPDATE notes SET title = 'x' WHERE id = 'n1'; ALTER TABLE notes DROP COLUMN title");
    expect(commits).toHaveLength(1);
    // What a live session sends (sync-coordinator.ts): the commit's own change set.
    b.applyChanges(commits[0]!.changes!);
    expect(b.exec('SELECT * FROM notes').rows).toEqual([{ id: 'n1', title: 'x', body: 'b1' }]);
  });

  it('reopening an export keeps the new shape and the extra cells', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    a.exec("ALTER TABLE notes ADD COLUMN pinned INTEGER DEFAULT 0; INSERT INTO notes VALUES ('n1', 't', 'b', 3)");
    pull(b, a);
    const b2 = await createReplica({ data: b.export() });
    b2.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER DEFAULT 0');
    expect(b2.exec('SELECT * FROM notes').rows).toEqual([{ id: 'n1', title: 't', body: 'b', pinned: 3 }]);
    const a2 = await createReplica({ data: a.export() });
    a2.exec("UPDATE notes SET pinned = 4");
    pull(b2, a2);
    expect(b2.exec('SELECT pinned FROM notes').rows).toEqual([{ pinned: 4 }]);
  });

  it.each([
    ['ALTER TABLE notes RENAME TO notes2', /renaming a synced table/],
    ['ALTER TABLE notes RENAME COLUMN title TO name', /renaming a synced table or one of its columns.*ADD COLUMN/],
    ['ALTER TABLE "notes" RENAME title TO name', /renaming/],
    ['ALTER TABLE notes DROP COLUMN id', /cannot drop PRIMARY KEY|primary key/i],
  ])('refuses %s with SCHEMA or SQLite\'s reason', async (sql, message) => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
    const before = dump(a);
    expect(() => a.exec(sql)).toThrow(message);
    expect(dump(a)).toBe(before);
    a.exec("UPDATE notes SET title = 'ok'");
    expect(a.changesSince({}).tables[0]!.columns).toEqual(['title', 'body']);
  });
});

describe('a column one replica added by ALTER and another had from CREATE TABLE', () => {
  it('rows from a peer without the column read its DEFAULT on both (a NOT NULL column takes them)', async () => {
    const { r: old } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: upgraded } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    upgraded.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    // A fresh install runs every migration before enableSync: the column is part of its first shape.
    const fresh = await createReplica({ nodeId: 'cccccccccccccccc' });
    fresh.exec(NOTES);
    fresh.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    fresh.enableSync('notes');
    old.exec("INSERT INTO notes VALUES ('n1', 't', 'b')");
    pull(upgraded, old);
    pull(fresh, old);
    expect(fresh.exec('SELECT * FROM notes').rows).toEqual([{ id: 'n1', title: 't', body: 'b', pinned: 0 }]);
    expect(dump(fresh)).toBe(dump(upgraded));
  });
});

describe('a dropped column added back under another type (issue 14)', () => {
  const refusal = (err: unknown) => {
    expect(err).toMatchObject({ code: 'SCHEMA', detail: { table: 'notes' } });
    const message = (err as Error).message;
    expect(message).toMatch(/"notes".*column "title".*dropped as TEXT.*INTEGER/);
    expect(message).toMatch(/new name/);
  };
  const attempt = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return null;
  };

  it('in one exec: refused with SCHEMA naming table, column and both types; nothing changes', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
    const before = dump(a);
    const fingerprints = a.fingerprints();
    refusal(attempt(() => a.exec('ALTER TABLE notes DROP COLUMN title; ALTER TABLE notes ADD COLUMN title INTEGER')));
    expect(dump(a)).toBe(before);
    expect(a.fingerprints()).toEqual(fingerprints);
    expect(a.exec('SELECT * FROM notes').rows).toEqual([{ id: 'n1', title: 't1', body: 'b1' }]);
  });

  it('across two execs, whatever the name\'s case; NOT NULL counts as part of the type; the same type brings the cells back', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
    a.exec('ALTER TABLE notes DROP COLUMN title');
    const before = dump(a);
    refusal(attempt(() => a.exec('ALTER TABLE notes ADD COLUMN title INTEGER')));
    expect(attempt(() => a.exec('ALTER TABLE notes ADD COLUMN "TITLE" integer'))).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/dropped as TEXT and cannot come back as INTEGER/) });
    expect(attempt(() => a.exec("ALTER TABLE notes ADD COLUMN title TEXT NOT NULL DEFAULT ''"))).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/dropped as TEXT and cannot come back as TEXT NOT NULL/) });
    expect(attempt(() => a.exec('ALTER TABLE notes ADD COLUMN title'))).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/as no declared type/) });
    expect(dump(a)).toBe(before);
    // Case and spacing of the type do not count, as in the peers' comparison (schema-descriptor.ts).
    a.exec('ALTER TABLE notes ADD COLUMN Title  text ');
    expect(a.exec('SELECT * FROM notes').rows).toEqual([{ id: 'n1', body: 'b1', Title: 't1' }]);
    // Added back, it is a column like any other: dropping it again remembers it again.
    a.exec('ALTER TABLE notes DROP COLUMN title');
    expect(attempt(() => a.exec('ALTER TABLE notes ADD COLUMN title INTEGER'))).toMatchObject({ code: 'SCHEMA' });
  });

  it('columns never dropped are not affected, and a second dropped column keeps its own type', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    a.exec('ALTER TABLE notes ADD COLUMN n INTEGER; ALTER TABLE notes DROP COLUMN n; ALTER TABLE notes DROP COLUMN body');
    a.exec('ALTER TABLE notes ADD COLUMN other REAL');
    expect(attempt(() => a.exec('ALTER TABLE notes ADD COLUMN n TEXT'))).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/column "n" was dropped as INTEGER/) });
    expect(attempt(() => a.exec('ALTER TABLE notes ADD COLUMN body INTEGER'))).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/column "body" was dropped as TEXT/) });
    a.exec('ALTER TABLE notes ADD COLUMN n INTEGER; ALTER TABLE notes ADD COLUMN body TEXT');
    expect(a.exec("SELECT name FROM pragma_table_info('notes') ORDER BY cid").rows.map((r) => r.name)).toEqual(['id', 'title', 'other', 'n', 'body']);
  });

  it('in a migration step: that step fails with its index and is rolled back, earlier steps stay applied', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
    const err = attempt(() => a.migrate(['ALTER TABLE notes ADD COLUMN x TEXT', 'ALTER TABLE notes DROP COLUMN title', 'ALTER TABLE notes ADD COLUMN title INTEGER']));
    expect(err).toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/migration 2 \(step 3\) failed and was rolled back: .*column "title" was dropped as TEXT.*stays at schema version 2/) });
    expect(a.getSchemaVersion()).toBe(2);
    expect(a.exec('SELECT * FROM notes').rows).toEqual([{ id: 'n1', body: 'b1', x: null }]);
  });

  it('still refused after reopening an export, and the same type still brings the cells back there', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1')");
    a.exec('ALTER TABLE notes DROP COLUMN title');
    const b = await createReplica({ data: a.export() });
    refusal(attempt(() => b.exec('ALTER TABLE notes ADD COLUMN title INTEGER')));
    b.exec('ALTER TABLE notes ADD COLUMN title TEXT');
    expect(b.exec('SELECT * FROM notes').rows).toEqual([{ id: 'n1', body: 'b1', title: 't1' }]);
  });

  it('a column known only from a peer\'s kept cells has no type here: a local ADD of another type is accepted and the hello then splits the table (docs/schema-evolution.md)', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    a.exec("ALTER TABLE notes ADD COLUMN tag TEXT; INSERT INTO notes VALUES ('n1', 't', 'b', 'red')");
    pull(b, a);
    b.exec('ALTER TABLE notes ADD COLUMN tag INTEGER');
    expect(b.exec('SELECT tag FROM notes').rows).toEqual([{ tag: 'red' }]);
    expect(schemasCompatible(a.fingerprints().notes!, b.fingerprints().notes!)).toBe(false);
  });

  it('refuses exactly the re-ADDs that would split the table from a peer still on the dropped column', async () => {
    const types = ['TEXT', 'text', ' TEXT ', "TEXT NOT NULL DEFAULT ''", "TEXT DEFAULT 'x'", 'INTEGER', 'VARCHAR(10)', ''];
    // What a peer that created the table with `title <type>` tells others in its hello.
    const descriptors = new Map<string, string>();
    for (const type of types) {
      const { r } = await syncedReplica('aaaaaaaaaaaaaaaa', `CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title ${type}, body TEXT)`, 'notes');
      descriptors.set(type, r.fingerprints().notes!);
    }
    for (const dropped of types) {
      for (const readded of types) {
        const { r: a } = await syncedReplica('bbbbbbbbbbbbbbbb', `CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title ${dropped}, body TEXT)`, 'notes');
        const err = attempt(() => a.exec(`ALTER TABLE notes DROP COLUMN title; ALTER TABLE notes ADD COLUMN title ${readded}`));
        const splits = !schemasCompatible(descriptors.get(dropped)!, descriptors.get(readded)!);
        expect(err === null ? 'accepted' : (err as BatteryError).code, `${dropped} -> ${readded}`).toBe(splits ? 'SCHEMA' : 'accepted');
      }
    }
  });
});
