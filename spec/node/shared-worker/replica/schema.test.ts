import { describe, expect, it } from 'vitest';
import { schemasCompatible } from '../../../../shared-worker/replica/contracts/schema-descriptor.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

const REFUSED: Array<[string, string, string, RegExp]> = [
  ['no primary key', 'CREATE TABLE t(a, b)', 't', /no PRIMARY KEY/],
  ['nullable text key', 'CREATE TABLE t(id TEXT PRIMARY KEY, a)', 't', /may be NULL/],
  ['nullable composite key part', 'CREATE TABLE t(a TEXT NOT NULL, b TEXT, v, PRIMARY KEY (a, b))', 't', /"b" may be NULL/],
  ['unique constraint', 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, email TEXT UNIQUE)', 't', /unique constraint/],
  ['unique index', 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, email TEXT); CREATE UNIQUE INDEX t_email ON t(email)', 't', /unique index .*t_email/],
  ['foreign key', 'CREATE TABLE p(id TEXT PRIMARY KEY NOT NULL); CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, pid TEXT REFERENCES p(id))', 't', /foreign keys \(pid -> p\)/],
  ['referenced by a foreign key', 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL); CREATE TABLE c(id TEXT PRIMARY KEY NOT NULL, tid TEXT REFERENCES t(id))', 't', /"c" references it/],
  ['WITHOUT ROWID', 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a) WITHOUT ROWID', 't', /WITHOUT ROWID/],
  ['NOCASE key', 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL COLLATE NOCASE, a)', 't', /collation NOCASE/],
  ['generated column', 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a INTEGER, b INTEGER AS (a * 2))', 't', /generated/],
  ['a view', 'CREATE VIEW t AS SELECT 1 AS id', 't', /is a view/],
  ['missing table', 'SELECT 1', 'nope', /no such table/],
  ['sqlite_ table', 'CREATE TABLE x(id INTEGER PRIMARY KEY)', 'sqlite_schema', /internal|no such table/],
  ['internal table', 'SELECT 1', '_rb_meta', /internal/],
];

describe('enableSync', () => {
  it.each(REFUSED)('refuses a table with %s (SCHEMA, says why)', async (_name, ddl, table, why) => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.execLocal(ddl);
    expect(() => r.enableSync(table)).toThrow(expect.objectContaining({ code: 'SCHEMA', message: expect.stringMatching(why) }));
    expect(r.syncedTables()).toEqual([]);
  });

  it('accepts INTEGER PRIMARY KEY (a rowid alias is never NULL) and composite NOT NULL keys', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE a(id INTEGER PRIMARY KEY, v); CREATE TABLE b(x TEXT NOT NULL, y INT NOT NULL, v, PRIMARY KEY (x, y))');
    r.enableSync('a');
    r.enableSync('B');
    expect(r.syncedTables()).toEqual(['a', 'b']);
  });

  it('backfills existing rows, is idempotent and survives export/reopen', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec("CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, v); INSERT INTO t VALUES ('x', 1), ('y', 2)");
    r.enableSync('t');
    const version = r.getVersion();
    r.enableSync('t');
    expect(r.getVersion()).toBe(version);
    const delta = r.changesSince({});
    expect(delta.tables[0]!.rows.map((row) => row.pk[0]).sort()).toEqual(['x', 'y']);
    const reopened = await createReplica({ data: r.export() });
    expect(reopened.syncedTables()).toEqual(['t']);
    expect(reopened.nodeId).toBe('aaaaaaaaaaaaaaaa');
    expect(reopened.getVersion()).toBe(version);
    expect(reopened.changesSince({})).toEqual(delta);
  });

  it('schema descriptors: same table -> same value; key or shared column type differs -> incompatible; a column only one side has -> compatible', async () => {
    const fp = async (ddl: string) => {
      const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
      r.exec(ddl);
      r.enableSync('t');
      return r.fingerprints().t!;
    };
    const base = await fp('CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER)');
    expect(base).toMatch(/^c1\|[0-9a-f]{16}\|([0-9a-f]{8}:[0-9a-f]{8},?)+$/);
    expect(await fp('CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER)')).toBe(base);
    expect(await fp('CREATE TABLE t (id text primary key not null, a text, b integer)')).toBe(base);
    for (const other of [
      'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, b REAL)',
      'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT NOT NULL, b INTEGER)',
      'CREATE TABLE t(id TEXT NOT NULL, a TEXT NOT NULL, b INTEGER, PRIMARY KEY (id, a))',
      'CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER)',
    ]) {
      expect(schemasCompatible(base, await fp(other))).toBe(false);
    }
    for (const other of [
      'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, b INTEGER, a TEXT)',
      'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, c INTEGER)',
      'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c BLOB)',
      'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL)',
    ]) {
      expect(schemasCompatible(base, await fp(other))).toBe(true);
    }
    // 0.1's per-table fingerprints sync only with an identical string.
    expect(schemasCompatible('0123456789abcdef', '0123456789abcdef')).toBe(true);
    expect(schemasCompatible(base, '0123456789abcdef')).toBe(false);
  });

  it('refuses DDL that would drop, rename, alter or make a synced table unsafe, and rolls it back', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    r.exec('CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, v)');
    r.enableSync('t');
    for (const ddl of [
      'DROP TABLE t', 'ALTER TABLE t RENAME TO u', 'ALTER TABLE t RENAME COLUMN v TO w', 'ALTER TABLE t ADD COLUMN w TEXT REFERENCES t(id)', 'CREATE UNIQUE INDEX t_v ON t(v)',
      // After an ADD COLUMN of the synced table, the same exec's other DDL is still checked.
      'ALTER TABLE t ADD COLUMN w TEXT; CREATE TABLE c(id TEXT PRIMARY KEY NOT NULL, tid TEXT REFERENCES t(id))',
      'ALTER TABLE t ADD COLUMN w TEXT; CREATE TRIGGER t_v AFTER INSERT ON t BEGIN UPDATE t SET v = 1 WHERE id = NEW.id; END',
    ]) {
      expect(() => r.exec(ddl)).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
      expect(() => r.execLocal(ddl)).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    }
    r.exec("INSERT INTO t VALUES ('x', 1)");
    r.exec('CREATE INDEX t_v ON t(v)');
    expect(r.exec('SELECT * FROM t').rows).toEqual([{ id: 'x', v: 1 }]);
  });
});
