/**
 * The command vocabulary of the mixed-schema-version properties (replica-level and durable): writes
 * to whatever columns a replica has, migration steps, reopens, deltas taken against stale vectors
 * and their (late, reordered, duplicated or lost) delivery.
 */
import fc from 'fast-check';

export const KEYS = ['k0', 'k1', 'k2'];

export type Cmd =
  | { kind: 'write'; r: number; key: string; op: 'upsert' | 'update' | 'delete'; pick: number[]; values: unknown[] }
  | { kind: 'migrate'; r: number }
  | { kind: 'reopen'; r: number }
  | { kind: 'send'; from: number; to: number; stale: number }
  | { kind: 'deliver'; pick: number; keep: boolean };

const value = fc.oneof(fc.constant(null), fc.constantFrom('x', 'y', ''), fc.integer({ min: -2, max: 2 }));
const r3 = fc.nat(2);

/** `reopenWeight`: how often a replica is closed and opened again (against 6 writes, 4 migrations). */
export function schemaCommands(reopenWeight: number): fc.Arbitrary<Cmd> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), r: r3, key: fc.constantFrom(...KEYS), op: fc.constantFrom('upsert' as const, 'upsert' as const, 'update' as const, 'delete' as const), pick: fc.array(fc.nat(3), { minLength: 1, maxLength: 3 }), values: fc.array(value, { minLength: 3, maxLength: 3 }) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('migrate' as const), r: r3 }) },
    { weight: reopenWeight, arbitrary: fc.record({ kind: fc.constant('reopen' as const), r: r3 }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), from: r3, to: r3, stale: fc.nat(6) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(50), keep: fc.boolean() }) },
  );
}

/** A write command as SQL on table t with key id; `valueFor` may replace a value a column cannot take. */
export function writeSql(c: Extract<Cmd, { kind: 'write' }>, columns: string[], valueFor: (column: string, value: unknown) => unknown = (_, v) => v): { sql: string; params: unknown[] } {
  if (c.op === 'delete') return { sql: 'DELETE FROM t WHERE id = ?', params: [c.key] };
  const cols = [...new Set(c.pick.map((i) => columns[i % columns.length]!))];
  const params = cols.map((col, i) => valueFor(col, c.values[i]));
  if (c.op === 'update') return { sql: `UPDATE t SET ${cols.map((col) => `${col} = ?`).join(', ')} WHERE id = ?`, params: [...params, c.key] };
  return {
    sql: `INSERT INTO t(id, ${cols.join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')}) ON CONFLICT(id) DO UPDATE SET ${cols.map((col) => `${col} = excluded.${col}`).join(', ')}`,
    params: [c.key, ...params],
  };
}
