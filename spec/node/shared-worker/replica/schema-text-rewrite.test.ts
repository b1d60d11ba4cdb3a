/**
 * ADD COLUMN of a synced table edits the capture objects' stored text and reloads the schema once
 * (schema-text-rewrite.ts, docs/schema-evolution.md). The file must end up as the equivalent DDL
 * would leave it (integrity, texts), capture must work on the new shape, and a failing exec must
 * leave nothing behind.
 */
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { rewriteSchemaText } from '../../../../shared-worker/replica/schema-text-rewrite.js';
import { SqlDatabase } from '../../../../shared-worker/replica/sql-database.js';
import { dump, exchangeAll, pull, registers, syncedReplica } from './replica-helpers.js';

const NOTES = 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT)';
const ADD = 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0';
const NOTES_WITH_PINNED = 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT, pinned INTEGER NOT NULL DEFAULT 0)';

/** The capture objects' schema rows (rootpage only for triggers: tables' pages differ by file). */
function captureSchema(r: Replica): Array<Record<string, unknown>> {
  return r.execLocal("SELECT type, name, tbl_name, CASE type WHEN 'trigger' THEN rootpage END AS rootpage, sql FROM sqlite_schema WHERE name LIKE '\\_rb\\_c%' ESCAPE '\\' OR name LIKE '\\_rb\\__1' ESCAPE '\\' ORDER BY name").rows;
}

function sqlOf(rows: Array<Record<string, unknown>>, name: string): unknown {
  return rows.find((r) => r.name === name)?.sql;
}

function checks(r: Replica): unknown[] {
  return [r.execLocal('PRAGMA integrity_check').rows, r.execLocal('PRAGMA quick_check').rows];
}
const OK = [[{ integrity_check: 'ok' }], [{ quick_check: 'ok' }]];

/** A synced notes table with live rows, a tombstone and update-log entries pending from an earlier exec. */
async function notesWithHistory(nodeId = 'aaaaaaaaaaaaaaaa'): Promise<Replica> {
  const { r } = await syncedReplica(nodeId, NOTES, 'notes');
  r.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1'), ('n2', 't2', 'b2'), ('n3', 't3', 'b3')");
  r.exec("DELETE FROM notes WHERE id = 'n3'");
  r.exec("UPDATE notes SET title = 'T1' WHERE id = 'n1'");
  return r;
}

describe('ADD COLUMN by rewriting the capture schema text', () => {
  it('leaves the file as DDL would: integrity, the tables as ALTER TABLE writes them, logs and triggers as a fresh install', async () => {
    const a = await notesWithHistory();
    const before = a.export();
    a.exec(ADD);
    expect(checks(a)).toEqual(OK);
    expect(a.execLocal('PRAGMA writable_schema').rows).toEqual([{ writable_schema: 0 }]);
    const after = captureSchema(a);

    // The register tables: byte for byte what SQLite's own ALTER TABLE ... ADD COLUMN writes.
    const SQL = await initSqlJs();
    const raw = new SQL.Database(before);
    raw.run('ALTER TABLE _rb_c1 ADD COLUMN s2 INTEGER; ALTER TABLE _rb_d1 ADD COLUMN s2 INTEGER; ALTER TABLE _rb_d1 ADD COLUMN v2 INTEGER DEFAULT 0');
    const byAlter = Object.fromEntries(raw.exec("SELECT name, sql FROM sqlite_schema WHERE name IN ('_rb_c1', '_rb_d1')")[0]!.values);
    raw.close();
    expect(sqlOf(after, '_rb_c1')).toBe(byAlter._rb_c1);
    expect(sqlOf(after, '_rb_d1')).toBe(byAlter._rb_d1);

    // The logs and the triggers: what a fresh install of the new shape stores.
    const { r: fresh } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES_WITH_PINNED, 'notes');
    const installed = captureSchema(fresh);
    for (const name of ['_rb_c1', '_rb_x1', '_rb_u1']) expect(sqlOf(after, name), name).toBe(sqlOf(installed, name));
    const triggers = (rows: Array<Record<string, unknown>>) => rows.filter((r) => r.type === 'trigger');
    expect(triggers(after)).toHaveLength(3);
    expect(triggers(after)).toEqual(triggers(installed));

    // A reopened export reads the same schema and checks clean.
    const reopened = await createReplica({ data: a.export(), now: () => 1_700_000_000_000 });
    expect(checks(reopened)).toEqual(OK);
    expect(captureSchema(reopened)).toEqual(after);
    // Older tombstones and rows read the column's default, as SQLite's ADD COLUMN makes them.
    expect(reopened.exec('SELECT id, title, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', title: 'T1', pinned: 0 }, { id: 'n2', title: 't2', pinned: 0 }]);
  });

  it('captures every kind of write of the new shape, and the peers converge', async () => {
    const a = await notesWithHistory('aaaaaaaaaaaaaaaa');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    pull(b, a);
    a.exec(ADD);
    b.exec(ADD);
    a.exec("UPDATE notes SET pinned = 1 WHERE id = 'n1'");
    a.exec("INSERT INTO notes VALUES ('n4', 't4', 'b4', 4)");
    a.exec("DELETE FROM notes WHERE id = 'n2'");
    a.exec("UPDATE notes SET id = 'n5', pinned = 5 WHERE id = 'n4'");
    a.exec("UPDATE notes SET rowid = 100 WHERE id = 'n1'");
    a.exec("INSERT OR REPLACE INTO notes VALUES ('n1', 'T1', 'b1', 2)");
    expect(() => a.execLocal("UPDATE notes SET pinned = 9 WHERE id = 'n1'")).toThrow(/execLocal cannot write synced table notes/);
    expect(checks(a)).toEqual(OK);
    exchangeAll([a, b]);
    expect(b.exec('SELECT id, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', pinned: 2 }, { id: 'n5', pinned: 5 }]);
    expect(dump(b)).toBe(dump(a));
    expect(registers(b)).toBe(registers(a));
    // The tombstone of n2 holds the new column's cell: a peer that never saw n2 gets it deleted.
    const { r: c } = await syncedReplica('cccccccccccccccc', NOTES_WITH_PINNED, 'notes');
    pull(c, a);
    expect(dump(c)).toBe(dump(a));
    expect(registers(c)).toBe(registers(a));
  });

  it('writes earlier in the same exec are folded in the old layout before the ALTER', async () => {
    const a = await notesWithHistory('aaaaaaaaaaaaaaaa');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    pull(b, a);
    a.exec(`DELETE FROM notes WHERE id = 'n2'; INSERT INTO notes VALUES ('n6', 't6', 'b6'); UPDATE notes SET body = 'B1' WHERE id = 'n1'; ${ADD}`);
    b.exec(ADD);
    expect(checks(a)).toEqual(OK);
    exchangeAll([a, b]);
    expect(b.exec('SELECT id, body, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', body: 'B1', pinned: 0 }, { id: 'n6', body: 'b6', pinned: 0 }]);
    expect(dump(b)).toBe(dump(a));
    expect(registers(b)).toBe(registers(a));
  });

  it('several ADD and DROP COLUMN in one exec, then writes: a peer that ran them one by one converges', async () => {
    const a = await notesWithHistory('aaaaaaaaaaaaaaaa');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    pull(b, a);
    const steps = ['ALTER TABLE notes ADD COLUMN a1 TEXT', 'ALTER TABLE notes ADD COLUMN a2 INTEGER DEFAULT 5', 'ALTER TABLE notes DROP COLUMN title', 'ALTER TABLE notes ADD COLUMN a3 REAL'];
    a.exec(steps.join('; '));
    for (const step of steps) b.exec(step);
    expect(checks(a)).toEqual(OK);
    a.exec("UPDATE notes SET a1 = 'x', a2 = 6, a3 = 1.5 WHERE id = 'n1'; DELETE FROM notes WHERE id = 'n2'");
    b.exec("INSERT INTO notes(id, body, a2) VALUES ('n7', 'b7', 7)");
    exchangeAll([a, b]);
    expect(a.exec('SELECT id, body, a1, a2, a3 FROM notes ORDER BY id').rows).toEqual([
      { id: 'n1', body: 'b1', a1: 'x', a2: 6, a3: 1.5 },
      { id: 'n7', body: 'b7', a1: null, a2: 7, a3: null },
    ]);
    expect(dump(b)).toBe(dump(a));
    expect(registers(b)).toBe(registers(a));
    expect(checks(b)).toEqual(OK);
  });

  it('a column whose cells arrived before it existed: they become its registers, not writes of the ALTER', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    a.exec("INSERT INTO notes VALUES ('n1', 't1', 'b1'), ('n2', 't2', 'b2')");
    pull(b, a);
    b.exec(ADD);
    b.exec("UPDATE notes SET pinned = 7 WHERE id = 'n1'");
    pull(a, b);
    const commits: Commit[] = [];
    a.onCommit((c) => commits.push(c));
    a.exec(ADD);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.changes).toBeNull();
    expect(commits[0]!.schemaChange).toEqual({ sql: ADD, schemaVersion: null });
    expect(a.exec('SELECT id, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', pinned: 7 }, { id: 'n2', pinned: 0 }]);
    expect(checks(a)).toEqual(OK);
    expect(registers(a)).toBe(registers(b));
  });

  it('with a table that is not synced, ADD COLUMN is still a schema change entry (no snapshot asked)', async () => {
    const a = await notesWithHistory();
    a.exec('CREATE TABLE local(x)');
    a.exec('INSERT INTO local VALUES (1)');
    const commits: Commit[] = [];
    a.onCommit((c) => commits.push(c));
    a.exec(ADD);
    expect(commits.map((c) => [c.needsSnapshot, c.schemaChange?.sql])).toEqual([[false, ADD]]);
  });

  it('a failing exec leaves the schema text, the data and capture as they were', async () => {
    const a = await notesWithHistory();
    const schema = captureSchema(a);
    const data = dump(a);
    // A later statement of the same exec fails: everything rolls back.
    expect(() => a.exec(`${ADD}; INSERT INTO notes VALUES ('n1', 'dup', 'dup', 0)`)).toThrow(/UNIQUE/);
    // SQLite's own rules for the new column still hold.
    expect(() => a.exec('ALTER TABLE notes ADD COLUMN n INTEGER NOT NULL')).toThrow(/NOT NULL/);
    expect(() => a.exec('ALTER TABLE notes ADD COLUMN n INTEGER DEFAULT 0 CHECK (n > 0)')).toThrow(/CHECK/);
    expect(captureSchema(a)).toEqual(schema);
    expect(dump(a)).toBe(data);
    expect(checks(a)).toEqual(OK);
    a.exec(ADD);
    a.exec("UPDATE notes SET pinned = 3 WHERE id = 'n2'");
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES_WITH_PINNED, 'notes');
    pull(b, a);
    expect(b.exec('SELECT id, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', pinned: 0 }, { id: 'n2', pinned: 3 }]);
  });

  it('capture tables whose stored text is of another form are altered with ALTER TABLE instead', async () => {
    const a = await notesWithHistory();
    const SQL = await initSqlJs();
    const raw = new SQL.Database(a.export());
    // The same table, written differently (as another SQLite version might have rewritten it).
    const version = Number(raw.exec('PRAGMA schema_version')[0]!.values[0]![0]);
    raw.run("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, 's1 INTEGER)', 's1 INTEGER )') WHERE name = '_rb_c1'");
    raw.run(`PRAGMA schema_version = ${version + 1}; PRAGMA writable_schema = OFF`);
    const b = await createReplica({ data: raw.export(), now: () => 1_700_000_000_000 });
    raw.close();
    b.exec(ADD);
    expect(checks(b)).toEqual(OK);
    expect(b.execLocal("SELECT name FROM pragma_table_info('_rb_c1') WHERE name = 's2'").rows).toEqual([{ name: 's2' }]);
    b.exec("UPDATE notes SET pinned = 3 WHERE id = 'n2'");
    const { r: c } = await syncedReplica('cccccccccccccccc', NOTES_WITH_PINNED, 'notes');
    pull(c, b);
    expect(c.exec('SELECT id, pinned FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', pinned: 0 }, { id: 'n2', pinned: 3 }]);
  });
});

describe('rewriteSchemaText splices', () => {
  it('edit only the texts that end as expected, and only those count as rewritten', async () => {
    const db = new SqlDatabase(await initSqlJs(), undefined, () => {});
    const counted: unknown[] = [];
    db.raw.create_function('counted', (n: unknown) => counted.push(n));
    db.execRaw('CREATE TABLE a(x INTEGER, y INTEGER); CREATE TABLE b(x INTEGER, y TEXT)');
    db.execRaw('BEGIN');
    const splice = (name: string) => ({ name, mustEndWith: ' INTEGER)', cut: 1, insert: ', z INTEGER)' });
    rewriteSchemaText(db, { rows: [], splices: [splice('a'), splice('b')], check: (n) => `SELECT counted(${n});` });
    db.execRaw('COMMIT');
    const sql = (name: string) => db.get('SELECT sql FROM sqlite_schema WHERE name = ?', [name])![0];
    expect([sql('a'), sql('b'), counted]).toEqual(['CREATE TABLE a(x INTEGER, y INTEGER, z INTEGER)', 'CREATE TABLE b(x INTEGER, y TEXT)', [1]]);
    db.close();
  });
});
