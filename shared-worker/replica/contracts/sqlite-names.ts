/**
 * Names as SQLite matches them (sqlite3UpperToLower): ASCII letters without case, every other
 * character as it is, so "Notes" and "notes" are one table and "Ä" and "ä" two. Shared by the
 * replica (which table an ALTER names) and the sync hello (which tables two peers share).
 */

// A module constant, not a literal in the function: V8 recompiles such a literal after each collection.
const ASCII_UPPER = /[A-Z]+/g;

export function sqliteLower(name: string): string {
  return name.replace(ASCII_UPPER, (m) => m.toLowerCase());
}
