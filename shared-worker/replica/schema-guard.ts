/**
 * Schema facts the replica checks around user SQL: synced tables must keep their shape, and
 * whether user tables or triggers exist decides if the update hook is needed.
 */
import { BatteryError } from '../protocol/errors.js';
import type { SqlDatabase } from './sql-database.js';
import { inspectSyncableTable, resolveTableName } from './sync-schema.js';
import type { SyncedTable } from './synced-table.js';
import { persistentCaptureTriggerNames } from './capture.js';

/**
 * After DDL in user SQL: every synced table must still exist with the shape it was synced with,
 * and with its capture triggers (a DROP TABLE and a CREATE TABLE of the same columns in one exec
 * would pass the first two checks with the triggers gone, dropped with the table).
 */
export function recheckSyncedTables(db: SqlDatabase, tables: SyncedTable[]): void {
  const triggers = new Set(db.all("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name GLOB '_rb_c*'").map((r) => String(r[0])));
  for (const t of tables) {
    const name = resolveTableName(db, t.shape.name);
    if (name !== t.shape.name) {
      throw new BatteryError('SCHEMA', `synced table "${t.shape.name}" cannot be dropped or renamed (peers keep syncing it)`, { table: t.shape.name });
    }
    const now = inspectSyncableTable(db, name);
    if (now.fingerprint !== t.shape.fingerprint) {
      throw new BatteryError('SCHEMA', `synced table "${name}" cannot be altered: its columns must stay as they were when sync was enabled`, { table: name });
    }
    if (!persistentCaptureTriggerNames(t.tid).every((n) => triggers.has(n))) {
      throw new BatteryError('SCHEMA', `synced table "${name}" cannot be dropped and created again (its change capture would be lost; peers keep syncing it)`, { table: name });
    }
  }
}

/** Tables of the main database that are neither SQLite's nor ours. */
export function countUserTables(db: SqlDatabase): number {
  return Number(db.get("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_rb\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")![0]);
}

/** Any trigger that is not one of our capture triggers? */
export function hasUserTriggers(db: SqlDatabase): boolean {
  return db.get("SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND name NOT LIKE '\\_rb\\_%' ESCAPE '\\')")![0] === 1;
}

/**
 * No TEMP table or view named like a synced table, and no TEMP trigger on one. SQLite looks an
 * unqualified name up in temp first, so such a table would take the replica's merge writes (a
 * peer's rows lost with it) and an unqualified ALTER (the capture rewritten for a column the synced
 * table never got); a TEMP trigger is not in the main schema assertMergeSafeTriggers reads.
 */
export function assertNoTempShadow(db: SqlDatabase, syncedNames: Iterable<string>): void {
  const synced = new Set([...syncedNames].map((n) => n.toLowerCase()));
  if (synced.size === 0) return;
  // The replica's own TEMP triggers (lazy-capture.ts) are named _rb_*, which user SQL cannot name.
  for (const [type, name, table] of db.all("SELECT type, name, tbl_name FROM temp.sqlite_schema WHERE type IN ('table', 'view', 'trigger') AND NOT (type = 'trigger' AND name GLOB '_rb_*')")) {
    const on = String(type === 'trigger' ? table : name);
    if (!synced.has(on.toLowerCase())) continue;
    const what = type === 'trigger' ? `a TEMP trigger (${String(name)}) on it` : `a TEMP ${String(type)} of its name, which would hide it from the replica's own statements`;
    throw new BatteryError('SCHEMA', `synced table "${on}" cannot have ${what}`, { table: on });
  }
}
