import { schemasCompatible } from '../replica/contracts/schema-descriptor.js';

// A module constant, not a literal in the function: V8 recompiles such a literal after each collection.
const ASCII_UPPER = /[A-Z]/g;

/**
 * A table name as SQLite matches it: ASCII letters without case, every other character as it is
 * ("Notes" and "notes" are one table, "Ä" and "ä" two). The replica resolves incoming table
 * names without case as well, so "Notes" made by an exec on one peer and "notes" made by a
 * migration step's CREATE TABLE IF NOT EXISTS on another are one table to sync.
 */
function sqliteName(name: string): string {
  return name.replace(ASCII_UPPER, (c) => c.toLowerCase());
}

/**
 * Which tables two peers can sync: those both sync with compatible definitions (same key, same
 * types for the columns both have; schema-descriptor.ts). The rest are excluded for this peer (reported as SCHEMA on both sides, since both compute the same split)
 * instead of being half-applied. `common` holds both sides' spellings of a shared table's name.
 */
export function compareSchemas(ours: Record<string, string>, theirs: Record<string, string>): { common: Set<string>; excluded: string[] } {
  const common = new Set<string>();
  const excluded = new Set<string>();
  const theirsByName = new Map<string, string[]>();
  for (const t of Object.keys(theirs)) {
    const spellings = theirsByName.get(sqliteName(t)) ?? [];
    theirsByName.set(sqliteName(t), [...spellings, t]);
  }
  for (const t of Object.keys(ours)) {
    const spellings = theirsByName.get(sqliteName(t)) ?? [];
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
