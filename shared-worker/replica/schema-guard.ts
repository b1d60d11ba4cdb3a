/**
 * Schema facts the replica checks around user SQL: synced tables must keep their shape, and
 * whether user tables or triggers exist decides if the update hook is needed.
 */
import { BatteryError } from '../protocol/errors.js';
import type { SqlDatabase } from './sql-database.js';
import { inspectSyncableTable, resolveTableName } from './sync-schema.js';
import type { SyncedTable } from './synced-table.js';

/** After DDL in user SQL: every synced table must still exist with the shape it was synced with. */
export function recheckSyncedTables(db: SqlDatabase, tables: SyncedTable[]): void {
  for (const t of tables) {
    const name = resolveTableName(db, t.shape.name);
    if (name !== t.shape.name) {
      throw new BatteryError('SCHEMA', `synced table "${t.shape.name}" cannot be dropped or renamed (peers keep syncing it)`, { table: t.shape.name });
    }
    const now = inspectSyncableTable(db, name);
    if (now.fingerprint !== t.shape.fingerprint) {
      throw new BatteryError('SCHEMA', `synced table "${name}" cannot be altered: its columns must stay as they were when sync was enabled`, { table: name });
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
