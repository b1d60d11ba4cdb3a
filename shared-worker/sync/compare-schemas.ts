import { schemasCompatible } from '../replica/contracts/schema-descriptor.js';
import { sqliteLower } from '../replica/contracts/sqlite-names.js';

/**
 * Which tables two peers can sync: those both sync with compatible definitions (same key, same
 * types for the columns both have; schema-descriptor.ts). The rest are excluded for this peer (reported as SCHEMA on both sides, since both compute the same split)
 * instead of being half-applied. Names match as SQLite matches them (sqlite-names.ts): "Notes"
 * made by an exec on one peer and "notes" made by a migration step's CREATE TABLE IF NOT EXISTS
 * on another are one table to sync, which the replica resolves without case as well. `common`
 * holds both sides' spellings of a shared table's name.
 */
export function compareSchemas(ours: Record<string, string>, theirs: Record<string, string>): { common: Set<string>; excluded: string[] } {
  const common = new Set<string>();
  const excluded = new Set<string>();
  const theirsByName = new Map<string, string[]>();
  for (const t of Object.keys(theirs)) {
    const key = sqliteLower(t);
    theirsByName.set(key, [...(theirsByName.get(key) ?? []), t]);
  }
  for (const t of Object.keys(ours)) {
    const spellings = theirsByName.get(sqliteLower(t)) ?? [];
    // Two of their names for one table (no SQLite database has that) match nothing.
    const other = spellings.length === 1 ? spellings[0]! : undefined;
    if (other !== undefined && schemasCompatible(ours[t]!, theirs[other]!)) {
      common.add(t);
      common.add(other);
    } else excluded.add(t);
  }
  for (const t of Object.keys(theirs)) if (!common.has(t)) excluded.add(t);
  return { common, excluded: [...excluded].sort() };
}
