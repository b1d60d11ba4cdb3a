/**
 * Holding local writes to synced tables to the value cap (protocol/limits.ts), inside the exec's
 * transaction so a refused exec rolls back as a whole. A value bigger than the cap could never
 * reach a peer (every peer refuses it), and would block the sync of everything after it.
 *
 * The check looks only at the registers the commit stamped, after capture, never in the
 * triggers: usually on the commit's changes, which the replica reads out for its listeners anyway
 * (the durable layer always listens), else with indexed queries per changed table over the rows
 * this commit stamped (clock rows, tombstones, and its entries at the end of the update log). Both measure what SQLite stored (UTF-8 text, blob bytes).
 */
import type { ChangeSet } from './contracts/change-set.js';
import { BatteryError } from '../protocol/errors.js';
import type { SqlDatabase } from './sql-database.js';
import { quoteIdent } from './sql-text.js';
import type { SyncedTable } from './synced-table.js';
import { MAX_VALUE_BYTES, valueBytes } from '../protocol/limits.js';

function refuse(table: string, column: string, bytes: number, code: 'SQL' | 'SCHEMA' = 'SQL'): never {
  throw new BatteryError(
    code,
    `value too large for synced table "${table}" column "${column}": ${bytes} bytes, the limit is ${MAX_VALUE_BYTES} ` +
      '(peers could never receive it). Keep large payloads in a table that is not synced.',
    { table, column, bytes, limit: MAX_VALUE_BYTES },
  );
}

/** Throws SQL naming the first value of `cs` (a local commit's changes) that exceeds the cap. */
export function assertChangesWithinCap(cs: ChangeSet, resolve: (table: string) => SyncedTable | undefined): void {
  for (const t of cs.tables) {
    for (const r of t.rows) {
      for (let i = 0; i < r.pk.length; i++) {
        const b = valueBytes(r.pk[i]!);
        if (b > MAX_VALUE_BYTES) refuse(t.table, resolve(t.table)?.shape.pk[i]?.name ?? `key ${i}`, b);
      }
      for (const c of r.cells) {
        const b = valueBytes(c[1]);
        if (b > MAX_VALUE_BYTES) refuse(t.table, t.columns[c[0]] ?? `column ${c[0]}`, b);
      }
    }
  }
}

/**
 * Per table: [live rows, tombstones, update log (entries after rowid ?3)] queries returning the
 * byte lengths of the values stamped ?1 when one exceeds ?2 (the last is '' without a log).
 */
const queries = new WeakMap<SyncedTable, [string, string, string]>();

function queriesOf(t: SyncedTable): [string, string, string] {
  let q = queries.get(t);
  if (q) return q;
  const len = (e: string) => `length(CAST(${e} AS BLOB))`;
  const { clock, tomb } = t.names;
  // Key values travel with every register of the row; a cell's value only with its own register.
  const live = [
    ...t.shape.pk.map((c) => len(`t.${quoteIdent(c.name)}`)),
    ...t.shape.cols.map((c, i) => `CASE WHEN c.s${i} = ?1 THEN ${len(`t.${quoteIdent(c.name)}`)} END`),
  ];
  const dead = [
    ...t.shape.pk.map((_, i) => len(`k${i}`)),
    ...t.shape.cols.map((_, i) => `CASE WHEN s${i} = ?1 THEN ${len(`v${i}`)} END`),
  ];
  const logged = [
    ...t.shape.pk.map((c) => len(`t.${quoteIdent(c.name)}`)),
    // Only entries whose trigger marked a cell as maybe over the cap (2, capture.ts changeMark).
    ...t.shape.cols.map((c, i) => `CASE WHEN u.m${i} = 2 THEN ${len(`t.${quoteIdent(c.name)}`)} END`),
  ];
  const over = (es: string[]) => es.map((e) => `${e} > ?2`).join(' OR ');
  q = [
    `SELECT ${live.join(', ')} FROM ${clock} c JOIN ${quoteIdent(t.shape.name)} t ON t.rowid = c.rid WHERE c.ver = ?1 AND (${over(live)}) LIMIT 1`,
    `SELECT ${dead.join(', ')} FROM ${tomb} WHERE ver = ?1 AND (${over(dead)}) LIMIT 1`,
    t.sql.hasUpdated
      ? `SELECT ${logged.join(', ')} FROM ${t.names.updated} u JOIN ${quoteIdent(t.shape.name)} t ON t.rowid = u.rid
         WHERE u.rowid > ?3 AND u.v = ?1 AND (${t.shape.cols.map((_, i) => `u.m${i} = 2`).join(' OR ')}) AND (${over(logged)}) LIMIT 1`
      : '',
  ];
  queries.set(t, q);
  return q;
}

/**
 * Throws `code` (SQL for an exec; SCHEMA for enableSync's backfill) if a register stamped with
 * stamp id `stampId` in `tables` holds a value over the cap. `logStart(t)`: where that exec's
 * update-log entries start (capture-fold.ts, updateLogStart).
 */
export function assertStampWithinCap(db: SqlDatabase, tables: SyncedTable[], stampId: number, code: 'SQL' | 'SCHEMA' = 'SQL', logStart: (t: SyncedTable) => number = () => 0): void {
  for (const t of tables) {
    const [live, dead, logged] = queriesOf(t);
    const checks: Array<[string, number[]]> = [[live, [stampId, MAX_VALUE_BYTES]], [dead, [stampId, MAX_VALUE_BYTES]]];
    if (logged) checks.push([logged, [stampId, MAX_VALUE_BYTES, logStart(t)]]);
    for (const [sql, params] of checks) {
      const row = db.get(sql, params);
      if (!row) continue;
      const names = [...t.shape.pk, ...t.shape.cols].map((c) => c.name);
      const i = row.findIndex((b) => typeof b === 'number' && b > MAX_VALUE_BYTES);
      refuse(t.shape.name, names[i] ?? '?', Number(row[i]), code);
    }
  }
}
