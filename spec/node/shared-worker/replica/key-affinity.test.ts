/**
 * Mixed-type keys. SQLite converts a key by its column's affinity (5 in a TEXT key is stored as
 * '5'), so two JS values can name one row. The merge's new-key shortcut compares keys by JS type,
 * and tombstone writes never hit the UNIQUE error its fallback relies on: a batch holding 5 and
 * '5' for a TEXT key gave a different table applied at once than applied row by row, with equal
 * registers. Remote validation now admits canonical keys only (key-affinity.ts).
 */
import fc from 'fast-check';
import type { Database } from 'sql.js';
import { describe, expect, it } from 'vitest';
import type { ChangeSet, RowDelta, SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';
import { affinityOf } from '../../../../shared-worker/replica/capture.js';
import { nonCanonicalKey } from '../../../../shared-worker/replica/key-affinity.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { loadSqlJs } from '../../../../shared-worker/replica/sql-database.js';
import { dump, registers } from './replica-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261123);
const H = 1_700_000_000_000 * 1024;
const NODES = ['b000000000000001', 'b000000000000002'];
const VALUES: SqlValue[] = ['x', 'y', 1, null, 2.5];

/** Key columns of every affinity (none is a rowid alias: INT is not INTEGER). */
const TABLES: Array<{ name: string; type: string; ddl: string }> = [
  { name: 't_text', type: 'TEXT', ddl: 'CREATE TABLE t_text(id TEXT PRIMARY KEY NOT NULL, v)' },
  { name: 't_int', type: 'INT', ddl: 'CREATE TABLE t_int(id INT PRIMARY KEY NOT NULL, v)' },
  { name: 't_num', type: 'NUMERIC', ddl: 'CREATE TABLE t_num(id NUMERIC PRIMARY KEY NOT NULL, v)' },
  { name: 't_real', type: 'REAL', ddl: 'CREATE TABLE t_real(id REAL PRIMARY KEY NOT NULL, v)' },
  { name: 't_any', type: '', ddl: 'CREATE TABLE t_any(id PRIMARY KEY NOT NULL, v)' },
];

async function fresh(nodeId = 'a000000000000001'): Promise<Replica> {
  const r = await createReplica({ nodeId, now: () => 1_700_000_000_000 });
  for (const t of TABLES) {
    r.exec(t.ddl);
    r.enableSync(t.name);
  }
  return r;
}

function batch(table: string, rows: RowDelta[]): ChangeSet {
  return { nodes: NODES, tables: [{ table, columns: ['v'], rows }] };
}

function state(r: Replica): string {
  const v = r.getVector();
  return dump(r) + '\n' + registers(r) + '\n' + JSON.stringify(Object.keys(v).sort().map((k) => [k, v[k]]));
}

describe('canonical keys (key affinity)', () => {
  it('refuses a mixed batch (5 and \'5\' in a TEXT key) as BAD_OP and changes nothing', async () => {
    const r = await fresh();
    const before = state(r);
    const row1: RowDelta = { pk: [5], put: [H + 1, 0], del: null, cells: [[0, 'a', H + 1, 0]] };
    const row2: RowDelta = { pk: ['5'], put: null, del: [H + 2, 0], cells: [] };
    expect(() => r.applyChanges(batch('t_text', [row1, row2]))).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(() => r.applyChanges(batch('t_text', [row1]))).toThrow(/number in a TEXT key column/);
    expect(state(r)).toBe(before);
    // The canonical spelling of the same rows: one batch and two batches agree (the row is deleted).
    const canon = [{ ...row1, pk: ['5'] }, row2];
    const two = await fresh('a000000000000002');
    r.applyChanges(batch('t_text', canon));
    two.applyChanges(batch('t_text', [canon[0]!]));
    two.applyChanges(batch('t_text', [canon[1]!]));
    expect(r.exec('SELECT * FROM t_text').rows).toEqual([]);
    expect(dump(two)).toBe(dump(r));
    expect(registers(two)).toBe(registers(r));
  });

  it('refuses numeric text in numeric keys and non-integers in an INTEGER PRIMARY KEY', async () => {
    const r = await fresh();
    r.exec('CREATE TABLE t_rowid(id INTEGER PRIMARY KEY, v)');
    r.enableSync('t_rowid');
    const row = (pk: SqlValue): RowDelta => ({ pk: [pk], put: [H + 1, 0], del: null, cells: [] });
    for (const [table, pk] of [['t_int', '5'], ['t_num', ' 1e3 '], ['t_real', '.5'], ['t_rowid', '7'], ['t_rowid', 2.5], ['t_rowid', 'x'], ['t_rowid', 2 ** 63]] as const) {
      expect(() => r.applyChanges(batch(table, [row(pk)])), `${table} ${JSON.stringify(pk)}`).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    }
    // Canonical values pass: text that is not a number stays text in a numeric key.
    for (const [table, pk] of [['t_int', '5a'], ['t_num', '0x10'], ['t_any', '5'], ['t_any', 5], ['t_rowid', 7], ['t_rowid', 2 ** 53 + 2], ['t_rowid', -(2 ** 63)]] as const) {
      expect(r.applyChanges(batch(table, [row(pk)])).applied, `${table} ${JSON.stringify(pk)}`).toBe(1);
    }
  });

  it('deletes a text or real key of an INT PRIMARY KEY table (its tombstone key is no rowid alias)', async () => {
    const r = await fresh();
    r.exec("INSERT INTO t_int VALUES ('a', 1), (2.5, 2), (3, 3)");
    r.exec("DELETE FROM t_int WHERE id IN ('a', 2.5, 3)");
    const peer = await fresh('a000000000000002');
    peer.applyChanges(r.changesSince({}));
    expect(peer.exec('SELECT * FROM t_int').rows).toEqual([]);
    expect(registers(peer)).toBe(registers(r));
  });

  it('calls a key non-canonical exactly when SQLite would store it as another value (checked against SQLite)', async () => {
    const SQL = await loadSqlJs();
    const db: Database = new SQL.Database();
    const types = ['TEXT', 'VARCHAR(8)', 'INT', 'INTEGER', 'BIGINT', 'NUMERIC', 'DECIMAL(5,2)', 'BOOLEAN', 'REAL', 'DOUBLE', 'FLOAT', '', 'BLOB'];
    db.run(`CREATE TABLE o(${types.map((t, i) => `c${i} ${t}`).join(', ')})`);
    const insert = db.prepare(`INSERT INTO o VALUES (${types.map(() => '?').join(', ')}) RETURNING *`);
    const same = (a: SqlValue, b: SqlValue) =>
      a instanceof Uint8Array ? b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]) : typeof a === typeof b && a === b;
    const text = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\v', '\f', '\r', '\u00a0', '0', '1', '5', '9', '.', 'e', 'E', '+', '-', 'x', 'a', '_', ','), maxLength: 8 });
    const key = fc.oneof(
      text,
      fc.integer({ min: -1000, max: 1000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(2 ** 53 - 1, 2 ** 40, 1e20, 0.1, '9223372036854775808', '1e999', '00012', '5.', '.5', '.', '1e', '1e+', '-.5e-3', 'Infinity', 'NaN'),
      fc.uint8Array({ maxLength: 3 }),
    );
    try {
      fc.assert(
        fc.property(key, (v) => {
          insert.bind(types.map(() => v) as never);
          expect(insert.step()).toBe(true);
          const stored = insert.get() as SqlValue[];
          insert.reset();
          types.forEach((t, i) => {
            const converted = !same(v, stored[i]!);
            expect(nonCanonicalKey(affinityOf(t), v) !== null, `${JSON.stringify(v)} in a ${t || 'typeless'} column became ${JSON.stringify(stored[i])}`).toBe(converted);
          });
        }),
        { seed: SEED, numRuns: 3000 },
      );
    } finally {
      insert.free();
      db.close();
    }
  });

  it('mixed-type canonical keys: one batch, several batches and reversed batches give identical tables', async () => {
    const pool: SqlValue[] = [5, '5', 5.5, '5.5', ' 5', '5a', '05', 'a', '', 0, -1, 2 ** 40, new Uint8Array([0x35]), new Uint8Array([])];
    const stamp = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1 }));
    const row = (keys: SqlValue[]) =>
      fc.record({
        pk: fc.constantFrom(...keys).map((k) => [k]),
        put: fc.option(stamp, { nil: null }),
        del: fc.option(stamp, { nil: null }),
        cell: fc.option(stamp, { nil: null }),
      }).map((r): RowDelta => ({
        pk: r.pk,
        put: r.put && [H + r.put[0], r.put[1]],
        del: r.del && [H + r.del[0], r.del[1]],
        // One stamp is one write: the value follows from the stamp (a register never holds two values under one stamp).
        cells: r.cell ? [[0, VALUES[(r.cell[0] * 2 + r.cell[1]) % VALUES.length]!, H + r.cell[0], r.cell[1]]] : [],
      }));
    const scenario = fc.constantFrom(...TABLES).chain((t) => {
      const keys = pool.filter((k) => nonCanonicalKey(affinityOf(t.type), k) === null);
      return fc.record({ table: fc.constant(t.name), rows: fc.array(row(keys), { minLength: 1, maxLength: 12 }), cuts: fc.array(fc.nat(12), { maxLength: 4 }) });
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ table, rows, cuts }) => {
        const rs = await Promise.all([fresh('a000000000000001'), fresh('a000000000000002'), fresh('a000000000000003')]);
        const bounds = [...new Set([0, ...cuts.map((c) => Math.min(c, rows.length)), rows.length])].sort((a, b) => a - b);
        const pieces = bounds.slice(1).map((end, i) => rows.slice(bounds[i], end)).filter((p) => p.length > 0);
        rs[0]!.applyChanges(batch(table, rows));
        for (const p of pieces) rs[1]!.applyChanges(batch(table, p));
        for (const p of [...pieces].reverse()) rs[2]!.applyChanges(batch(table, p));
        expect(state(rs[1]!)).toBe(state(rs[0]!));
        expect(state(rs[2]!)).toBe(state(rs[0]!));
        for (const r of rs) r.close();
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});
