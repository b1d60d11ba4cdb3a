/**
 * What peers tell each other about a synced table's definition (the hello's `fingerprints`), and
 * which tables two definitions let them sync. Per column, not per table, so peers on different
 * app versions (one has added or dropped a column, the other not yet) keep syncing the table:
 *
 *   "c1|<key>|<column>:<type>,<column>:<type>,..."
 *
 * <key> hashes the key columns (names, declared types, order); each non-key column is the hash of
 * its lower-cased name and the hash of its declared type and NOT NULL flag (8 hex digits each),
 * sorted. A table syncs when the keys match and every column both sides have has the same type. A
 * column only one side has is unknown to the other, which keeps and forwards its cells (see
 * docs/schema-evolution.md). Strings of another form (the 16-digit fingerprints of release 0.1)
 * sync only with an identical string.
 */
export interface ColumnFacts {
  name: string;
  type: string;
  notNull: boolean;
}

const PREFIX = 'c1|';

/** 8 hex digits: 32-bit FNV-1a of `text`. */
function hash8(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

// A module constant, not a literal in the function: V8 recompiles such a literal after each collection.
const WHITESPACE_RUNS = /\s+/g;

/** A declared type as compared between replicas: trimmed, single-spaced, upper case. */
export function normalizeType(type: string): string {
  return type.trim().replace(WHITESPACE_RUNS, ' ').toUpperCase();
}

// Module constants, not literals in the function: V8 recompiles such a literal after each collection.
const SPACE_AROUND_PUNCTUATION = /\s*([(),])\s*/g;

/**
 * A declared type as peers compare it: normalizeType, and no space next to a parenthesis or a
 * comma ("VARCHAR (10)", "varchar( 10 )" and "VARCHAR(10)" are one type). normalizeType itself
 * stays as it is: stored table shapes hold fingerprints made with it.
 */
function peerType(type: string): string {
  return normalizeType(type).replace(SPACE_AROUND_PUNCTUATION, '$1');
}

/**
 * A non-key column's type as peers compare it: the declared type (case and spacing aside) and
 * NOT NULL. Two definitions whose shared column differs here do not sync that table.
 */
export function columnTypeOf(c: Omit<ColumnFacts, 'name'>): string {
  return `${peerType(c.type)}${c.notNull ? ' NOT NULL' : ''}`;
}

export function describeSchema(pk: ColumnFacts[], cols: ColumnFacts[]): string {
  const key = pk.map((c) => `${c.name.toLowerCase()} ${peerType(c.type)}`).join('\u0001');
  const columns = cols.map((c) => `${hash8(c.name.toLowerCase())}:${hash8(columnTypeOf(c))}`).sort();
  return `${PREFIX}${hash8(key)}${hash8('k' + key)}|${columns.join(',')}`;
}

function parse(descriptor: string): { key: string; columns: Map<string, string> } | null {
  if (!descriptor.startsWith(PREFIX)) return null;
  const [key, list] = descriptor.slice(PREFIX.length).split('|');
  if (key === undefined || list === undefined) return null;
  const columns = new Map<string, string>();
  for (const entry of list === '' ? [] : list.split(',')) {
    const [name, type] = entry.split(':');
    if (name === undefined || type === undefined) return null;
    columns.set(name, type);
  }
  return { key, columns };
}

/** Can two definitions of one table sync? Equal strings always can; else by key and shared columns. */
export function schemasCompatible(ours: string, theirs: string): boolean {
  if (ours === theirs) return true;
  const a = parse(ours);
  const b = parse(theirs);
  if (!a || !b || a.key !== b.key) return false;
  for (const [name, type] of a.columns) {
    const other = b.columns.get(name);
    if (other !== undefined && other !== type) return false;
  }
  return true;
}
