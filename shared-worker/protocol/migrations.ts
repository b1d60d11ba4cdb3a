/**
 * Versioned migrations (docs/schema-evolution.md): an app passes the ordered list of every schema
 * step it has ever shipped; the replica stores how many it has applied (its schema version) and
 * applies the rest, each in one transaction, once per replica. A step is a SQL string (several
 * statements allowed) or `{ sql }`; the object form leaves room for more fields later.
 */
import { BatteryError } from './errors.js';

export type MigrationStep = string | { sql: string };

/** Steps one list may hold, and the SQL text of one step (bounds what a tab may ask the worker to run). */
const MAX_MIGRATIONS = 10_000;
const MAX_MIGRATION_SQL = 1 << 20;

/** Validates a migrations option (tab side and worker side) and returns the SQL of each step. */
export function migrationSql(steps: unknown, where = 'migrations'): string[] {
  if (!Array.isArray(steps)) throw new BatteryError('SCHEMA', `${where} must be an array of SQL strings or { sql } objects`);
  if (steps.length > MAX_MIGRATIONS) throw new BatteryError('SCHEMA', `${where}: more than ${MAX_MIGRATIONS} steps`);
  // By index, not map(): map() skips the holes of a sparse list (`['a', , 'b']`), which would
  // pass here and fail only when that step's turn came, after the steps before it were applied.
  const out: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step: unknown = steps[i];
    const sql = typeof step === 'string' ? step : typeof step === 'object' && step !== null && !Array.isArray(step) ? (step as { sql?: unknown }).sql : undefined;
    if (typeof sql !== 'string' || sql.trim() === '') {
      throw new BatteryError('SCHEMA', `${where}[${i}] must be a non-empty SQL string or an object { sql: string }`, { step: i });
    }
    if (sql.length > MAX_MIGRATION_SQL) throw new BatteryError('SCHEMA', `${where}[${i}] is longer than ${MAX_MIGRATION_SQL} characters`, { step: i });
    out.push(sql);
  }
  return out;
}

/** What migrate() did: the schema version before and after. */
export interface MigrationResult {
  from: number;
  to: number;
}
