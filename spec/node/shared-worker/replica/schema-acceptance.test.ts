/**
 * Outside-tester acceptance of issue 14 at the replica level (Replica.exec / migrate /
 * applyChanges / changesSince): odd table shapes and names, statement forms, refusals, extra
 * cells relayed through a peer that lacks the column.
 */
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { schemasCompatible } from '../../../../shared-worker/replica/contracts/schema-descriptor.js';
import { exchangeAll, pull, registers } from './replica-helpers.js';

const ids = ['b000000000000001', 'b000000000000002', 'b000000000000003'];

async function peers(n: number, ddl: string, table: string): Promise<Replica[]> {
  const clock = { t: Date.now() };
  const out: Replica[] = [];
  for (let i = 0; i < n; i++) {
    const r = await createReplica({ nodeId: ids[i]!, now: () => clock.t++ });
    r.exec(ddl);
    r.enableSync(table);
    out.push(r);
  }
  return out;
}

const q = (t: string) => `"${t.replaceAll('"', '""')}"`;

/** Every row of each table, ordered by every column (the names quoted: they may be odd). */
function dump(r: Replica, tables: string[]): string {
  return JSON.stringify(tables.map((t) => {
    const n = r.execLocal(`SELECT count(*) AS n FROM pragma_table_xinfo(?)`, [t]).rows[0]!.n as number;
    const order = Array.from({ length: n }, (_, i) => i + 1).join(', ');
    return r.execLocal(`SELECT * FROM ${q(t)} ORDER BY ${order}`).rows;
  }), (_, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
}

async function reopened(r: Replica, nodeId: string): Promise<Replica> {
  const data = r.export();
  r.close();
  return createReplica({ nodeId, data });
}

function schemaError(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

/** Table shapes an app may have; each has key columns `id` (and `k2`), and non-key column `a`. */
const SHAPES: Array<{ name: string; ddl: string; table: string; key: string; keyVals: (i: number) => string }> = [
  { name: 'text key', table: 't', ddl: 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)', key: 'id', keyVals: (i) => `'k${i}'` },
  { name: 'INTEGER PRIMARY KEY', table: 't', ddl: 'CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)', key: 'id', keyVals: (i) => `${i}` },
  { name: 'composite key', table: 't', ddl: 'CREATE TABLE t(id INTEGER NOT NULL, k2 TEXT NOT NULL, a TEXT, PRIMARY KEY (k2, id))', key: 'id, k2', keyVals: (i) => `${i}, 'x${i}'` },
  { name: 'composite blob/int key', table: 't', ddl: 'CREATE TABLE t(id BLOB NOT NULL, k2 INT NOT NULL, a TEXT, PRIMARY KEY (id, k2))', key: 'id, k2', keyVals: (i) => `x'0${i}', ${i}` },
  { name: 'quoted odd names', table: 'my "odd" table', ddl: 'CREATE TABLE "my ""odd"" table"("id" TEXT PRIMARY KEY NOT NULL, [a] TEXT)', key: 'id', keyVals: (i) => `'k${i}'` },
];


describe('ADD / DROP COLUMN over table shapes', () => {
  for (const s of SHAPES) {
    it(`${s.name}: values written to a new column before a peer had it arrive (direct and relayed), defaults agree, drop and re-add brings them back`, async () => {
      const [a, b, c] = await peers(3, s.ddl, s.table);
      const t = q(s.table);
      for (const [i, r] of [a, b, c].entries()) r!.exec(`INSERT INTO ${t}(${s.key}, a) VALUES (${s.keyVals(i)}, 'r${i}')`);
      exchangeAll([a!, b!, c!]);
      // a and c get the column; b does not.
      for (const r of [a!, c!]) r.migrate([`ALTER TABLE ${t} ADD COLUMN "n w" INTEGER NOT NULL DEFAULT -5 CHECK ("n w" > -10)`]);
      a!.exec(`UPDATE ${t} SET "n w" = 3`);
      a!.exec(`INSERT INTO ${t}(${s.key}, a, "n w") VALUES (${s.keyVals(7)}, 'new', 9)`);
      b!.exec(`INSERT INTO ${t}(${s.key}, a) VALUES (${s.keyVals(8)}, 'from b')`);
      // c hears only through b.
      pull(b!, a!);
      pull(c!, b!);
      expect(c!.execLocal(`SELECT "n w" AS n FROM ${t} ORDER BY n`).rows.map((r) => r.n)).toEqual([-5, 3, 3, 3, 9]);
      // b reloads and adds the column: a's values appear.
      const b2 = await reopened(b!, ids[1]!);
      b2.migrate([`ALTER TABLE ${t} ADD COLUMN "n w" INTEGER NOT NULL DEFAULT -5 CHECK ("n w" > -10)`]);
      exchangeAll([a!, b2, c!]);
      expect(dump(b2, [s.table])).toBe(dump(a!, [s.table]));
      expect(dump(c!, [s.table])).toBe(dump(a!, [s.table]));
      expect(registers(b2)).toBe(registers(a!));
      // drop on a, write on c, re-add on a.
      a!.exec(`ALTER TABLE ${t} DROP COLUMN "n w"`);
      c!.exec(`UPDATE ${t} SET "n w" = 4`);
      exchangeAll([a!, b2, c!]);
      a!.exec(`ALTER TABLE ${t} ADD COLUMN "n w" INTEGER NOT NULL DEFAULT -5 CHECK ("n w" > -10)`);
      expect(a!.execLocal(`SELECT DISTINCT "n w" AS n FROM ${t}`).rows).toEqual([{ n: 4 }]);
      exchangeAll([a!, b2, c!]);
      expect(dump(a!, [s.table])).toBe(dump(c!, [s.table]));
      expect(registers(a!)).toBe(registers(c!));
      const a2 = await reopened(a!, ids[0]!);
      expect(dump(a2, [s.table])).toBe(dump(c!, [s.table]));
      a2.exec(`UPDATE ${t} SET a = 'after reopen'`);
      pull(c!, a2);
      expect(dump(a2, [s.table])).toBe(dump(c!, [s.table]));
    });
  }
});

describe('column definitions an ADD may carry', () => {
  const defs = [
    "c TEXT COLLATE NOCASE DEFAULT 'Hello'",
    "c TEXT DEFAULT 'it''s'",
    'c BLOB DEFAULT x\'00ff\'',
    'c REAL DEFAULT -1.5',
    'c NUMERIC DEFAULT 1e3',
    'c',
    'c VARCHAR(20) DEFAULT NULL',
    'c DECIMAL(10, 2) NOT NULL DEFAULT 0',
    'c INTEGER DEFAULT (3)',
    "c TEXT DEFAULT ('a' || 'b')",
    'c INT NOT NULL DEFAULT +7',
    'c UNSIGNED BIG INT',
    '"select" TEXT',
    '[c;d] TEXT DEFAULT \';\'',
    '`c--d` TEXT',
    'c TEXT CHECK (length(c) < 5) DEFAULT \'abc\'',
    'c TEXT GENERATED ALWAYS AS (a || \'!\') VIRTUAL',
    'c INTEGER REFERENCES other(x)',
  ];
  for (const def of defs) {
    it(`ADD COLUMN ${def}: rows written before read the default on every peer, writes sync, reopen keeps it`, async () => {
      const [a, b] = await peers(2, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT); CREATE TABLE other(x INTEGER PRIMARY KEY)', 't');
      a!.exec("INSERT INTO t VALUES ('k1', 'one')");
      pull(b!, a!);
      let err: unknown = null;
      try {
        a!.exec(`ALTER TABLE t ADD COLUMN ${def}`);
      } catch (e) {
        err = e;
      }
      if (err) {
        // A refusal must be SCHEMA or SQLite's, and leave a working table.
        expect(String((err as Error).message)).not.toBe('');
        a!.exec("INSERT INTO t VALUES ('k2', 'two')");
        pull(b!, a!);
        expect(dump(b!, ['t'])).toBe(dump(a!, ['t']));
        return;
      }
      b!.exec("INSERT INTO t(id, a) VALUES ('k3', 'three')");
      exchangeAll([a!, b!]);
      b!.exec(`ALTER TABLE t ADD COLUMN ${def}`);
      exchangeAll([a!, b!]);
      expect(dump(b!, ['t'])).toBe(dump(a!, ['t']));
      const a2 = await reopened(a!, ids[0]!);
      expect(dump(a2, ['t'])).toBe(dump(b!, ['t']));
      a2.exec("INSERT INTO t(id, a) VALUES ('k4', 'four')");
      pull(b!, a2);
      expect(dump(b!, ['t'])).toBe(dump(a2, ['t']));
    });
  }
});

describe('statement forms', () => {
  it('ALTER with params in the same exec as writes, and several statements per migration step', async () => {
    const [a, b] = await peers(2, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)', 't');
    a!.exec("INSERT INTO t VALUES ('k1', 'x')");
    a!.exec('INSERT INTO t VALUES (:id, :a); ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 1; UPDATE t SET c = :c WHERE id = :old', { ':id': 'k2', ':a': 'y', ':c': 5, ':old': 'k1' });
    expect(a!.execLocal('SELECT * FROM t ORDER BY id').rows).toEqual([{ id: 'k1', a: 'x', c: 5 }, { id: 'k2', a: 'y', c: 1 }]);
    pull(b!, a!);
    b!.migrate(['ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 1; ALTER TABLE t ADD COLUMN d TEXT; UPDATE t SET d = id']);
    expect(b!.getSchemaVersion()).toBe(1);
    pull(a!, b!);
    a!.exec('ALTER TABLE t ADD COLUMN d TEXT');
    exchangeAll([a!, b!]);
    expect(dump(a!, ['t'])).toBe(dump(b!, ['t']));
    expect(a!.execLocal('SELECT * FROM t ORDER BY id').rows).toEqual([{ id: 'k1', a: 'x', c: 5, d: 'k1' }, { id: 'k2', a: 'y', c: 1, d: 'k2' }]);
  });

  it('ALTER inside an explicit BEGIN/COMMIT is either refused cleanly or captured', async () => {
    const [a, b] = await peers(2, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)', 't');
    let refused = false;
    try {
      a!.exec("BEGIN; INSERT INTO t VALUES ('k1', 'x'); ALTER TABLE t ADD COLUMN c; UPDATE t SET c = 2; COMMIT");
    } catch {
      refused = true;
    }
    if (refused) {
      expect(a!.execLocal('SELECT count(*) AS n FROM t').rows[0]!.n).toBe(0);
    }
    a!.exec("INSERT INTO t(id, a) VALUES ('k9', 'z')");
    pull(b!, a!);
    if (!refused) b!.exec('ALTER TABLE t ADD COLUMN c');
    pull(b!, a!);
    expect(dump(b!, ['t'])).toBe(dump(a!, ['t']));
  });

  it('a failing step keeps the earlier ones and names the step and SQLite\'s message', async () => {
    const [a] = await peers(1, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)', 't');
    const err = schemaError(() => a!.migrate(['ALTER TABLE t ADD COLUMN c', "INSERT INTO t VALUES ('k', 'x', 1)", 'ALTER TABLE t ADD COLUMN d NOT NULL', 'ALTER TABLE t ADD COLUMN e']));
    expect(err.code).toBe('SCHEMA');
    expect(err.message).toMatch(/migration 2 \(step 3\)/);
    expect(err.message).toMatch(/NOT NULL/i);
    expect(a!.getSchemaVersion()).toBe(2);
    expect(a!.execLocal('SELECT * FROM t').rows).toEqual([{ id: 'k', a: 'x', c: 1 }]);
    const older = schemaError(() => a!.migrate(['ALTER TABLE t ADD COLUMN c']));
    expect(older.code).toBe('SCHEMA');
    expect(older.message).toMatch(/\b1\b.*\b2\b/);
  });
});

describe('refusals say what to do instead', () => {
  const cases: Array<[string, RegExp]> = [
    ['ALTER TABLE t RENAME COLUMN a TO b', /add a column|new name/i],
    ['ALTER TABLE t RENAME a TO b', /add a column|new name/i],
    ['ALTER TABLE t RENAME TO t2', /new table|create/i],
    ['ALTER TABLE t DROP COLUMN a; ALTER TABLE t ADD COLUMN a INTEGER', /type|new name/i],
    ['DROP TABLE t', /.+/],
    ['ALTER TABLE t ADD COLUMN u TEXT UNIQUE', /.+/],
    ['ALTER TABLE t DROP COLUMN id', /.+/],
  ];
  for (const [sql, hint] of cases) {
    it(`${sql}: SCHEMA (or SQLite's refusal), nothing changed, table still syncs`, async () => {
      const [a, b] = await peers(2, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)', 't');
      a!.exec("INSERT INTO t VALUES ('k1', 'x')");
      const before = a!.execLocal("SELECT sql FROM sqlite_master ORDER BY name").rows;
      const err = schemaError(() => a!.exec(sql));
      expect(err.message).toMatch(hint);
      expect(a!.execLocal("SELECT sql FROM sqlite_master ORDER BY name").rows).toEqual(before);
      a!.exec("UPDATE t SET a = 'y'");
      pull(b!, a!);
      expect(dump(b!, ['t'])).toBe(dump(a!, ['t']));
    });
  }
});

describe('column names as SQLite matches them', () => {
  it('cells kept under one spelling appear when the column is added under another ASCII case', async () => {
    const [a, b, c] = await peers(3, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)', 't');
    a!.exec("INSERT INTO t VALUES ('k1', 'x')");
    a!.exec('ALTER TABLE t ADD COLUMN Pinned INTEGER');
    a!.exec('UPDATE t SET pinned = 1');
    pull(b!, a!);
    b!.exec('ALTER TABLE t ADD COLUMN pinned INTEGER');
    expect(b!.execLocal('SELECT pinned FROM t').rows).toEqual([{ pinned: 1 }]);
    b!.exec('UPDATE t SET PINNED = 2');
    pull(c!, b!);
    pull(c!, a!);
    c!.exec('ALTER TABLE t ADD COLUMN PINNED INTEGER');
    exchangeAll([a!, b!, c!]);
    const values = (r: Replica) => r.execLocal('SELECT id, a, pinned AS p FROM t').rows;
    expect(values(a!)).toEqual([{ id: 'k1', a: 'x', p: 2 }]);
    expect(values(b!)).toEqual(values(a!));
    expect(values(c!)).toEqual(values(a!));
    // Each replica names the column as its own table spells it.
    expect(registers(c!).toLowerCase()).toBe(registers(a!).toLowerCase());
  });

  it('columns SQLite tells apart only by non-ASCII case ("Ä" and "ä") are refused with SCHEMA naming both, at enableSync and at ADD', async () => {
    // Change sets and extra cells match column names without case (every letter), SQLite only
    // ASCII letters: such a table's change sets would be refused by every peer.
    const [a, b] = await peers(2, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, "Ä" TEXT)', 't');
    a!.exec('CREATE TABLE u(id TEXT PRIMARY KEY NOT NULL, "Ä" TEXT, "ä" TEXT)');
    const atEnable = schemaError(() => a!.enableSync('u'));
    expect(atEnable.code).toBe('SCHEMA');
    expect(atEnable.message).toMatch(/"Ä".*"ä".*[Rr]ename/);
    expect(a!.syncedTables()).toEqual(['t']);
    for (const sql of ['ALTER TABLE t ADD COLUMN "ä" TEXT', 'ALTER TABLE t ADD COLUMN "ä" TEXT; SELECT 1']) {
      const atAdd = schemaError(() => a!.exec(sql));
      expect(atAdd.code).toBe('SCHEMA');
      expect(atAdd.message).toMatch(/"Ä".*"ä".*[Rr]ename/);
    }
    a!.exec("INSERT INTO t VALUES ('k', 'x')");
    pull(b!, a!);
    expect(dump(b!, ['t'])).toBe(dump(a!, ['t']));
  });
});

describe('a failing ALTER leaves the table syncing', () => {
  it('an exec whose later statement fails rolls back the ADD and its capture change; a lone ADD that fails too', async () => {
    const [a, b] = await peers(2, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT)', 't');
    a!.exec("INSERT INTO t VALUES ('k1', 'x')");
    expect(() => a!.exec("ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 3; UPDATE t SET c = 4; INSERT INTO t VALUES ('k1', 'dup', 1)")).toThrow();
    expect(() => a!.exec('ALTER TABLE t ADD COLUMN c INTEGER NOT NULL')).toThrow();
    expect(() => a!.exec('ALTER TABLE t ADD COLUMN c INTEGER CHECK (c > 0) DEFAULT 0')).toThrow();
    expect(() => a!.exec('ALTER TABLE t DROP COLUMN a; SELECT nosuch FROM t')).toThrow();
    expect(a!.execLocal('SELECT * FROM t').rows).toEqual([{ id: 'k1', a: 'x' }]);
    a!.exec("UPDATE t SET a = 'y'");
    a!.exec('ALTER TABLE t ADD COLUMN c TEXT');
    a!.exec("UPDATE t SET c = 'z'");
    pull(b!, a!);
    b!.exec('ALTER TABLE t ADD COLUMN c TEXT');
    expect(dump(b!, ['t'])).toBe(dump(a!, ['t']));
    const a2 = await reopened(a!, ids[0]!);
    expect(dump(a2, ['t'])).toBe(dump(b!, ['t']));
    expect(registers(a2)).toBe(registers(b!));
  });
});

describe('a snapshot copied in slices while the schema changes', () => {
  it('ADD (lone and among writes) and DROP COLUMN between the copy steps: the copy is the database as of the last step, and keeps syncing', async () => {
    const [r, peer] = await peers(2, 'CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, body BLOB, n INTEGER)', 'items');
    r!.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1500)
      INSERT INTO items SELECT printf('seed-%06d', i), randomblob(700), i FROM c`);
    const alters = [
      'ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
      "UPDATE items SET pinned = 1 WHERE n % 7 = 0; ALTER TABLE items ADD COLUMN tag TEXT DEFAULT 't'; UPDATE items SET tag = 'x' WHERE n % 5 = 0",
      'ALTER TABLE items DROP COLUMN body',
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 800) INSERT INTO items(id, n) SELECT printf('g-%d', i), i FROM c",
      'ALTER TABLE items ADD COLUMN body BLOB',
    ];
    const schema = (x: Replica) => JSON.stringify(x.execLocal("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").rows);
    const state = (x: Replica) => [dump(x, ['items']), registers(x), schema(x)];
    let i = 0;
    let copy: Replica | null = null;
    // Each round copies while the remaining statements run between its steps (a copy may finish
    // early, e.g. by falling back to one export()): each copy must be the database as of its last step.
    while (i < alters.length) {
      const cursor = r!.exportInSlices();
      while (!cursor.step(6)) if (i < alters.length) r!.exec(alters[i++]!);
      const expected = state(r!);
      r!.exec("INSERT INTO items(id) VALUES ('after the copy " + i + "')");
      copy?.close();
      copy = await createReplica({ nodeId: ids[0]!, data: cursor.result() });
      expect(state(copy)).toEqual(expected);
      expect(copy.execLocal('PRAGMA integrity_check').rows).toEqual([{ integrity_check: 'ok' }]);
    }
    copy = copy!;
    copy.exec("UPDATE items SET tag = 'copy' WHERE id = 'seed-000001'");
    pull(peer!, copy);
    peer!.migrate([alters[0]!, "ALTER TABLE items ADD COLUMN tag TEXT DEFAULT 't'", alters[2]!, alters[4]!]);
    pull(peer!, copy);
    expect(dump(peer!, ['items']) === dump(copy, ['items'])).toBe(true);
  });
});

describe('adding a dropped column back', () => {
  it('with its type spelled in another case or spacing brings its kept cells back; with another type or NOT NULL it is refused naming both types', async () => {
    const [a, b] = await peers(2, 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, price DECIMAL(10,2), x TEXT)', 't');
    a.exec("INSERT INTO t VALUES ('k', 1.5, 'x')");
    pull(b!, a!);
    a!.exec('ALTER TABLE t DROP COLUMN price');
    b!.exec("UPDATE t SET price = 2.5");
    pull(a!, b!);
    for (const [sql, hint] of [['ALTER TABLE t ADD COLUMN price DECIMAL(12,2)', /DECIMAL\(10,2\)[^]*DECIMAL\(12,2\)|DECIMAL\(12,2\)[^]*DECIMAL\(10,2\)/], ['ALTER TABLE t ADD COLUMN price DECIMAL(10,2) NOT NULL DEFAULT 0', /NOT NULL/], ['ALTER TABLE t ADD COLUMN price TEXT', /TEXT/]] as const) {
      const err = schemaError(() => a!.exec(sql));
      expect(err.code, sql).toBe('SCHEMA');
      expect(err.message, sql).toMatch(hint);
    }
    a!.exec('ALTER TABLE t ADD COLUMN PRICE decimal( 10, 2 ) DEFAULT 0');
    expect(a!.execLocal('SELECT price AS p FROM t').rows).toEqual([{ p: 2.5 }]);
    // And the two peers still sync the table (the hello compares the types the same way).
    expect(schemasCompatible(a!.fingerprints().t!, b!.fingerprints().t!)).toBe(true);
  });
});
