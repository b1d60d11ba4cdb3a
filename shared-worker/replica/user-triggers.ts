/**
 * User triggers and merges.
 *
 * A merge writes synced tables with capture off, so a user trigger that fires during a merge and
 * writes a synced table would make a write no peer ever hears of: replicas would diverge with
 * equal vectors. Such triggers are refused (SCHEMA) at enableSync and at CREATE TRIGGER; triggers
 * that only write non-synced tables are fine (their writes are recorded as row images).
 *
 * Log replay re-applies records whose effects on non-synced tables are already in their row
 * images: user triggers must not fire again then (a key change replays as delete + insert, so an
 * AFTER INSERT trigger would add a row the original UPDATE never wrote). They are taken out for the
 * replayed merge and put back, byte for byte, in the same transaction.
 */
import { BatteryError } from '../protocol/errors.js';
import type { SqlDatabase } from './sql-database.js';
import { stripLiteralsAndComments } from './sql-text.js';

interface UserTrigger {
  name: string;
  /** The table it is ON. */
  table: string;
  sql: string;
}

function userTriggers(db: SqlDatabase): UserTrigger[] {
  return db.all("SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'trigger' AND name NOT LIKE '\\_rb\\_%' ESCAPE '\\' ORDER BY rowid")
    .map(([name, table, sql]) => ({ name: String(name), table: String(table), sql: String(sql) }));
}

const NAME = String.raw`("(?:[^"]|"")*"|\[[^\]]*\]|` + '`[^`]*`' + String.raw`|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)`;
const WRITES = [
  new RegExp(String.raw`\b(?:INSERT(?:\s+OR\s+[A-Za-z]+)?|REPLACE)\s+INTO\s+${NAME}`, 'gi'),
  new RegExp(String.raw`\bUPDATE(?:\s+OR\s+[A-Za-z]+)?\s+${NAME}`, 'gi'),
  new RegExp(String.raw`\bDELETE\s+FROM\s+${NAME}`, 'gi'),
];

const BEGIN_WORD = /\bBEGIN\b/i;

function unquote(name: string): string {
  if (name.startsWith('"')) return name.slice(1, -1).replaceAll('""', '"');
  if (name.startsWith('[') || name.startsWith('`')) return name.slice(1, -1);
  return name;
}

/**
 * The tables a trigger's body writes (lower case). SQLite forbids schema-qualified targets inside
 * triggers, so a bare name is the whole target. `DO UPDATE SET` (an upsert) is not a target.
 */
export function tablesWrittenBy(triggerSql: string): string[] {
  const stripped = stripLiteralsAndComments(triggerSql);
  const begin = BEGIN_WORD.exec(stripped);
  const body = begin ? stripped.slice(begin.index + 5) : '';
  const out = new Set<string>();
  for (const re of WRITES) {
    for (const m of body.matchAll(re)) {
      const raw = m[1]!;
      if (raw.toUpperCase() === 'SET') continue;
      out.add(unquote(raw).toLowerCase());
    }
  }
  return [...out];
}

/**
 * Throws SCHEMA when a user trigger can fire during a merge (it is on a synced table, or on a
 * table such a trigger writes) and writes a synced table.
 */
export function assertMergeSafeTriggers(db: SqlDatabase, syncedNames: Iterable<string>): void {
  const synced = new Set([...syncedNames].map((n) => n.toLowerCase()));
  if (synced.size === 0) return;
  const triggers = userTriggers(db).map((t) => ({ ...t, writes: tablesWrittenBy(t.sql) }));
  if (triggers.length === 0) return;
  const fired = new Set(synced);
  const via = new Map<string, string>();
  for (let grew = true; grew;) {
    grew = false;
    for (const t of triggers) {
      if (!fired.has(t.table.toLowerCase())) continue;
      for (const w of t.writes) {
        if (synced.has(w)) {
          const chain = via.has(t.table.toLowerCase()) ? ` (it runs when trigger "${via.get(t.table.toLowerCase())}" writes "${t.table}")` : '';
          throw new BatteryError(
            'SCHEMA',
            `trigger "${t.name}" on "${t.table}" writes synced table "${w}"${chain}: it would also run while peers' changes are merged, and that write would reach no peer. Write the synced table from your own exec instead, or have the trigger write a table that is not synced.`,
            { trigger: t.name, table: t.table, writes: w },
          );
        }
        if (!fired.has(w)) {
          fired.add(w);
          via.set(w, t.name);
          grew = true;
        }
      }
    }
  }
}

/** Drops every user trigger; the returned function re-creates them (same SQL, same order). */
export function suspendUserTriggers(db: SqlDatabase): () => void {
  const triggers = userTriggers(db);
  if (triggers.length === 0) return () => {};
  for (const t of triggers) db.execRaw(`DROP TRIGGER "${t.name.replaceAll('"', '""')}"`);
  return () => { for (const t of triggers) db.execRaw(t.sql); };
}
