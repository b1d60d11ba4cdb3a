/**
 * A TEMP object named like a synced table shadows it for every unqualified name (SQLite looks in
 * temp first): the replica's own merge statements and an unqualified ALTER would reach the TEMP
 * table, so a peer's rows would be lost with it and the capture rewritten for a column the synced
 * table never got. A TEMP trigger on a synced table is not seen by the check of user triggers.
 */
import { describe, expect, it } from 'vitest';
import { dump, pull, syncedReplica } from './replica-helpers.js';

const NOTES = 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT)';

describe('TEMP objects and synced tables', () => {
  it.each([
    ['a TEMP table', 'CREATE TEMP TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT)'],
    ['a TEMPORARY table of another case', 'CREATE TEMPORARY TABLE "NOTES"(x)'],
    ['a table in temp', 'CREATE TABLE temp.notes(id TEXT PRIMARY KEY NOT NULL, title TEXT)'],
    ['a table in "temp" named by string literals', "CREATE TABLE 'temp'.'notes'(x)"],
    ['a TEMP view', 'CREATE TEMP VIEW notes AS SELECT 1 AS id, 2 AS title'],
    ['a TEMP table created after another statement, then altered', "CREATE TABLE t(x); CREATE TEMP TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT); ALTER TABLE notes ADD COLUMN c TEXT"],
    ['a TEMP trigger on the synced table', "CREATE TABLE log(x); CREATE TEMP TRIGGER tr AFTER INSERT ON main.notes BEGIN INSERT INTO log VALUES (new.id); END"],
  ])('refuses %s named like a synced table (SCHEMA), and merges and ALTERs still reach the synced table', async (_name, sql) => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    r.exec("INSERT INTO notes VALUES ('n1', 't1')");
    const before = r.export();
    expect(() => r.exec(sql)).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    expect(() => r.execLocal(sql)).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    expect(Buffer.from(r.export()).equals(Buffer.from(before))).toBe(true);
    expect(r.execLocal('SELECT name FROM temp.sqlite_schema').rows).toEqual([]);
    b.exec("INSERT INTO notes VALUES ('n2', 't2')");
    pull(r, b);
    r.exec('ALTER TABLE notes ADD COLUMN c TEXT');
    b.exec('ALTER TABLE notes ADD COLUMN c TEXT');
    r.exec("UPDATE notes SET c = 'x' WHERE id = 'n1'");
    pull(b, r);
    pull(r, b);
    expect(dump(r)).toBe(dump(b));
    expect(JSON.parse(dump(b)).notes).toEqual([{ id: 'n1', title: 't1', c: 'x' }, { id: 'n2', title: 't2', c: null }]);
  });

  it('lets other TEMP objects be (a scratch table, a trigger on it)', async () => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    r.exec('CREATE TEMP TABLE scratch(x); CREATE TEMP TRIGGER tr AFTER INSERT ON scratch BEGIN SELECT 1; END');
    r.exec('INSERT INTO scratch VALUES (1)');
    expect(r.execLocal('SELECT x FROM scratch').rows).toEqual([{ x: 1 }]);
  });

  it('refuses enableSync of a table a TEMP table shadows (SCHEMA)', async () => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    r.exec('CREATE TABLE tasks(id TEXT PRIMARY KEY NOT NULL, done INTEGER); CREATE TEMP TABLE tasks(id TEXT PRIMARY KEY NOT NULL, done INTEGER)');
    expect(() => r.enableSync('tasks')).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    expect(r.syncedTables()).toEqual(['notes']);
  });
});
