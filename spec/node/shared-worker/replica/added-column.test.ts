/**
 * ADD COLUMN with the column read from the ALTER's text before it runs (added-column.ts): the
 * capture rows are rewritten first and the user's ALTER reloads the schema once. The reading must
 * be what SQLite stores, a column SQLite reads otherwise must go the inspecting way with the same
 * result, and an ALTER failing after the rewrite must leave nothing behind.
 */
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { predictAddedColumn } from '../../../../shared-worker/replica/added-column.js';
import { dump, pull, syncedReplica } from './replica-helpers.js';

const NOTES = 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT)';

async function notes(nodeId = 'aaaaaaaaaaaaaaaa'): Promise<Replica> {
  const { r } = await syncedReplica(nodeId, NOTES, 'notes');
  r.exec("INSERT INTO notes VALUES ('n1', 't1'), ('n2', 't2')");
  r.exec("UPDATE notes SET title = 'T1' WHERE id = 'n1'");
  return r;
}

/** The stored shape of `notes` and every schema row, read from an export. */
async function stored(r: Replica): Promise<{ shape: { cols: Array<Record<string, unknown>> }; schema: unknown[][]; version: unknown; meta: Record<string, unknown> }> {
  const db = new (await initSqlJs()).Database(r.export());
  try {
    const shape = JSON.parse(String(db.exec("SELECT shape FROM _rb_tables WHERE name = 'notes'")[0]!.values[0]![0])) as { cols: Array<Record<string, unknown>> };
    const schema = db.exec('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name')[0]!.values;
    const meta = Object.fromEntries(db.exec("SELECT k, v FROM _rb_meta WHERE k IN ('version', 'schema_version')")[0]!.values);
    return { shape, schema, version: db.exec('PRAGMA schema_version')[0]!.values[0]![0], meta };
  } finally {
    db.close();
  }
}

const xinfo = (r: Replica, name: string) => r.execLocal('SELECT type, dflt_value AS dflt FROM pragma_table_xinfo(\'notes\') WHERE name = ?', [name]).rows[0];
const OK = [{ integrity_check: 'ok' }];

describe('the column an ADD COLUMN adds, read before it runs', () => {
  it('reads name, type, NOT NULL and DEFAULT of the common forms as SQLite stores them', async () => {
    const SQL = await initSqlJs();
    for (const [sql, expected] of [
      ['ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0', { name: 'pinned', type: 'INTEGER', notNull: true, dflt: '0' }],
      ['alter table "notes" add "odd ""name""" text default \'it\'\'s\'', { name: 'odd "name"', type: 'TEXT', notNull: false, dflt: "'it''s'" }],
      ['ALTER TABLE main.notes ADD [n] UNSIGNED BIG INT DEFAULT -1 /* c */ COLLATE NOCASE', { name: 'n', type: 'UNSIGNED BIG INT', notNull: false, dflt: '-1' }],
      ['ALTER TABLE notes ADD COLUMN `n` CHECK (n > 0) NULL DEFAULT CURRENT_TIMESTAMP', { name: 'n', type: '', notNull: false, dflt: 'CURRENT_TIMESTAMP' }],
      ['ALTER TABLE notes ADD COLUMN n REAL DEFAULT 1.5;', { name: 'n', type: 'REAL', notNull: false, dflt: '1.5' }],
    ] as const) {
      expect(predictAddedColumn(sql), sql).toEqual(expected);
      // What SQLite itself stores for that statement.
      const db = new SQL.Database();
      db.run(`${NOTES}; ${sql}`);
      const [name, type, notNull, dflt] = db.exec('SELECT name, type, "notnull", dflt_value FROM pragma_table_xinfo(\'notes\') ORDER BY cid DESC LIMIT 1')[0]!.values[0]!;
      db.close();
      expect({ name, type, notNull: notNull === 1, dflt }, sql).toEqual(expected);
    }
  });

  it('gives up on the forms it does not read', () => {
    for (const sql of [
      'ALTER TABLE notes ADD COLUMN n VARCHAR(10)',
      'ALTER TABLE notes ADD COLUMN n INTEGER DEFAULT (1 + 2)',
      'ALTER TABLE notes ADD COLUMN n INTEGER REFERENCES other(id)',
      'ALTER TABLE notes ADD COLUMN n INTEGER NOT NULL ON CONFLICT IGNORE DEFAULT 0',
      'ALTER TABLE notes ADD COLUMN n AS (1)',
      'ALTER TABLE notes ADD COLUMN n INTEGER CONSTRAINT c DEFAULT 0',
      "ALTER TABLE notes ADD COLUMN n INTEGER DEFAULT x'00'",
      'ALTER TABLE notes RENAME TO other',
    ]) expect(predictAddedColumn(sql), sql).toBeNull();
  });

  it('a column SQLite stores otherwise than read (type spacing, signed DEFAULT) goes the inspecting way, with the same result', async () => {
    for (const [alter, name, type, dflt] of [
      ['ALTER TABLE notes ADD COLUMN w UNSIGNED   BIG INT DEFAULT 7', 'w', 'UNSIGNED   BIG INT', '7'],
      ['ALTER TABLE notes ADD COLUMN w INTEGER DEFAULT - 1', 'w', 'INTEGER', '- 1'],
    ] as const) for (const exec of [`${alter}; UPDATE notes SET w = 5 WHERE id = 'n2'`, alter, [alter]]) {
      const a = await notes();
      expect(predictAddedColumn(alter)).not.toBeNull();
      const version = a.getVersion();
      if (typeof exec === 'string') a.exec(exec);
      else a.migrate(exec);
      expect(xinfo(a, name)).toEqual({ type, dflt });
      const { shape, meta } = await stored(a);
      expect(shape.cols.at(-1)).toEqual({ name, type, notNull: false, dflt, added: true });
      // The lone ALTER writes the version with the capture rewrite it rolled back: written again.
      expect(a.getVersion()).toBe(version + 1);
      expect(meta).toEqual(typeof exec === 'string' ? { version: version + 1 } : { version: version + 1, schema_version: 1 });
      expect(a.execLocal('PRAGMA integrity_check').rows).toEqual(OK);
      const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
      b.exec(alter);
      pull(b, a);
      expect(dump(b)).toBe(dump(a));
    }
  });

  it('an ALTER failing its NOT NULL or CHECK rule after the capture rows were rewritten leaves the file and the connection as they were', async () => {
    const a = await notes();
    const before = await stored(a);
    const data = dump(a);
    for (const alter of ['ALTER TABLE notes ADD COLUMN n INTEGER NOT NULL', 'ALTER TABLE notes ADD COLUMN n INTEGER DEFAULT 0 CHECK (n > 0)']) {
      expect(predictAddedColumn(alter)).not.toBeNull();
      expect(() => a.exec(alter)).toThrow(/NOT NULL|CHECK/);
      expect(await stored(a)).toEqual(before);
      expect(dump(a)).toBe(data);
      expect(a.execLocal('PRAGMA integrity_check').rows).toEqual(OK);
      expect(a.execLocal('PRAGMA writable_schema').rows).toEqual([{ writable_schema: 0 }]);
    }
    // The connection still runs the old triggers: a write is captured and reaches a peer.
    a.exec("UPDATE notes SET title = 'T2' WHERE id = 'n2'");
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    pull(b, a);
    expect(b.exec('SELECT id, title FROM notes ORDER BY id').rows).toEqual([{ id: 'n1', title: 'T1' }, { id: 'n2', title: 'T2' }]);
  });
});

/** Stamps held in the file (the lone ADD path must not leave one behind, nor the general one). */
async function stampCount(r: Replica): Promise<number> {
  const db = new (await initSqlJs()).Database(r.export());
  try {
    return Number(db.exec('SELECT count(*) FROM _rb_stamps')[0]!.values[0]![0]);
  } finally {
    db.close();
  }
}

describe('an exec that is one ADD COLUMN of a synced table (no stamp, version written before the ALTER)', () => {
  it('gives the table the shape and fingerprint SQLite\'s own inspection gives it (a peer that created it so shares it)', async () => {
    for (const column of ['pinned INTEGER NOT NULL DEFAULT 0', 'tag text', 'w UNSIGNED   BIG INT DEFAULT 7', 'n INTEGER DEFAULT - 1', '"odd name" NUMERIC']) {
      const a = await notes();
      a.exec(`ALTER TABLE notes ADD COLUMN ${column}`);
      const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', `CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, ${column})`, 'notes');
      expect(a.fingerprints()).toEqual(b.fingerprints());
      // Any later DDL rechecks the synced tables against their stored fingerprint (schema-guard.ts).
      expect(() => a.exec('CREATE TABLE other(x)')).not.toThrow();
      const { shape } = await stored(a);
      expect(shape.cols.at(-1)).toEqual({ ...(await stored(b)).shape.cols.at(-1), added: true });
    }
  });

  it('tables whose key is not in front: the same shape and fingerprint, in one call when the key order can be told from the shape', async () => {
    const added = 'pinned INTEGER NOT NULL DEFAULT 0';
    const forms = [
      { ddl: `CREATE TABLE notes(title TEXT, id TEXT PRIMARY KEY NOT NULL, body TEXT%)`, oneCall: true },
      { ddl: `CREATE TABLE notes(title TEXT, body TEXT, id INTEGER PRIMARY KEY%)`, oneCall: true },
      { ddl: `CREATE TABLE notes(a TEXT NOT NULL, b INT NOT NULL, title TEXT%, PRIMARY KEY (a, b))`, oneCall: true },
      // A composite key declared in another order than its columns: the inspecting way.
      { ddl: `CREATE TABLE notes(a TEXT NOT NULL, title TEXT, b INT NOT NULL%, PRIMARY KEY (b, a))`, oneCall: false },
    ].map((f) => ({ ...f, ddl: f.ddl.replace('%', ''), withColumn: f.ddl.replace('%', `, ${added}`) }));
    for (const { ddl, withColumn, oneCall } of forms) {
      const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', ddl, 'notes');
      const raw = (a as unknown as { db: { execRaw(sql: string): void } }).db;
      const calls: string[] = [];
      const execRaw = raw.execRaw.bind(raw);
      raw.execRaw = (sql: string) => { calls.push(sql); execRaw(sql); };
      a.exec(`ALTER TABLE notes ADD COLUMN ${added}`);
      raw.execRaw = execRaw;
      expect(calls.length === 1, ddl).toBe(oneCall);
      const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', withColumn, 'notes');
      expect(a.fingerprints(), ddl).toEqual(b.fingerprints());
      expect(() => a.exec('CREATE TABLE other(x)'), ddl).not.toThrow();
    }
  });

  it('moves the version by one and the vector not at all, emits one SchemaChange, and converges with a peer that runs it', async () => {
    const a = await notes();
    const commits: Array<{ schemaChange?: unknown; changes: unknown; version: number }> = [];
    a.onCommit((c) => commits.push(c));
    const [version, vector, stamps] = [a.getVersion(), a.getVector(), await stampCount(a)];
    const sql = 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; -- the only statement';
    a.exec(sql);
    expect(a.getVersion()).toBe(version + 1);
    expect(a.getVector()).toEqual(vector);
    expect(await stampCount(a)).toBe(stamps);
    expect(commits).toEqual([expect.objectContaining({ schemaChange: { sql, schemaVersion: null }, changes: null, version: version + 1 })]);
    // Writes after it are captured in the new shape and reach a peer that ran the same ALTER.
    a.exec("UPDATE notes SET pinned = 1 WHERE id = 'n2'");
    a.exec("INSERT INTO notes VALUES ('n3', 't3', 2)");
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    b.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    pull(b, a);
    expect(dump(b)).toBe(dump(a));
    expect(a.execLocal('PRAGMA integrity_check').rows).toEqual(OK);
  });

  it('statements the replica keeps prepared for the user (a lone SELECT *, a lone write) see the new column', async () => {
    const a = await notes();
    expect(a.exec('SELECT * FROM notes WHERE id = ?', ['n1']).rows).toEqual([{ id: 'n1', title: 'T1' }]);
    a.exec('INSERT OR REPLACE INTO notes SELECT * FROM notes WHERE id = ?', ['n2']);
    a.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 7');
    expect(a.exec('SELECT * FROM notes WHERE id = ?', ['n1']).rows).toEqual([{ id: 'n1', title: 'T1', pinned: 7 }]);
    a.exec("UPDATE notes SET pinned = 8 WHERE id = 'n2'");
    a.exec('INSERT OR REPLACE INTO notes SELECT * FROM notes WHERE id = ?', ['n2']);
    expect(a.exec('SELECT * FROM notes WHERE id = ?', ['n2']).rows).toEqual([{ id: 'n2', title: 't2', pinned: 8 }]);
  });

  it('a failing one leaves version, vector, stamps and schema version as they were, in exec and as a migration step', async () => {
    const a = await notes();
    a.migrate(['ALTER TABLE notes ADD COLUMN tag TEXT']);
    const [version, vector, stamps, data] = [a.getVersion(), a.getVector(), await stampCount(a), dump(a)];
    expect(() => a.exec('ALTER TABLE notes ADD COLUMN n INTEGER NOT NULL')).toThrow(/NOT NULL/);
    expect(() => a.migrate(['ALTER TABLE notes ADD COLUMN tag TEXT', 'ALTER TABLE notes ADD COLUMN n INTEGER DEFAULT 0 CHECK (n > 0)'])).toThrow(/CHECK/);
    expect([a.getVersion(), a.getVector(), await stampCount(a), dump(a), a.getSchemaVersion()]).toEqual([version, vector, stamps, data, 1]);
    // The next exec starts from the stored version, and capture still works.
    a.exec("UPDATE notes SET tag = 'x' WHERE id = 'n1'");
    expect(a.getVersion()).toBe(version + 1);
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    b.migrate(['ALTER TABLE notes ADD COLUMN tag TEXT']);
    pull(b, a);
    expect(dump(b)).toBe(dump(a));
  });

  it('a failing one that takes the inspecting way (its key order not told from the shape) leaves the capture objects in place too', async () => {
    // The inspecting way drops the capture triggers before the ALTER: only the exec's rollback
    // brings them back, so they must have been dropped inside its transaction.
    const ddl = 'CREATE TABLE notes(a TEXT NOT NULL, title TEXT, b INT NOT NULL, PRIMARY KEY (b, a))';
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', ddl, 'notes');
    a.exec("INSERT INTO notes VALUES ('x', 't', 1)");
    const schema = () => a.execLocal("SELECT type, name, sql FROM sqlite_schema WHERE name LIKE '\\_rb\\_%' ESCAPE '\\' ORDER BY name").rows;
    const before = schema();
    const version = a.getVersion();
    expect(() => a.exec('ALTER TABLE notes ADD COLUMN n INTEGER NOT NULL')).toThrow(/NOT NULL/);
    expect(schema()).toEqual(before);
    expect(a.getVersion()).toBe(version);
    a.exec("UPDATE notes SET title = 'u' WHERE a = 'x'");
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', ddl, 'notes');
    pull(b, a);
    expect(dump(b)).toBe(dump(a));
    expect(b.exec('SELECT title FROM notes').rows).toEqual([{ title: 'u' }]);
  });

  it('an ADD COLUMN with other statements in the same exec, or one whose text holds a ";" elsewhere, takes the general path: every write is captured', async () => {
    const a = await notes();
    a.exec("ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; INSERT INTO notes VALUES ('n3', 't3', 1); UPDATE notes SET pinned = 2 WHERE id = 'n1'");
    a.exec("ALTER TABLE notes ADD COLUMN \"odd;name\" TEXT DEFAULT 'a;b'");
    a.exec("UPDATE notes SET \"odd;name\" = 'c' WHERE id = 'n2'");
    // A name holding "--" is not a comment: the statement after it is seen, and captured.
    a.exec('ALTER TABLE notes ADD COLUMN "a--b" INTEGER; UPDATE notes SET "a--b" = 5 WHERE id = \'n1\'');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    b.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    b.exec("ALTER TABLE notes ADD COLUMN \"odd;name\" TEXT DEFAULT 'a;b'");
    b.exec('ALTER TABLE notes ADD COLUMN "a--b" INTEGER');
    pull(b, a);
    expect(dump(b)).toBe(dump(a));
    expect(b.exec("SELECT id, pinned, \"odd;name\" AS o, \"a--b\" AS m FROM notes ORDER BY id").rows).toEqual([
      { id: 'n1', pinned: 2, o: 'a;b', m: 5 },
      { id: 'n2', pinned: 0, o: 'c', m: null },
      { id: 'n3', pinned: 1, o: 'a;b', m: null },
    ]);
  });
});
