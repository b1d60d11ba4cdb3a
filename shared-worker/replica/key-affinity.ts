/**
 * Canonical key values. SQLite converts a value stored in a column by the column's type affinity
 * (datatype3.html 3.4): 5 written to a TEXT key is stored as '5', '5' written to an INTEGER or
 * NUMERIC key as 5. So two different JS values can name the same row. Keys that come out of
 * SQLite (every honest change set: deltas and captured changes read the stored values) are
 * already canonical: the stored type is one the affinity keeps. A remote key that the affinity
 * would convert is refused (remote-validation.ts), which lets the merge compare keys by JS type
 * and value (merge.ts keyOf): equal canonical keys are equal JS values of the same type.
 */
import type { SqlValue } from './contracts/change-set.js';
import { affinityOf } from './capture.js';
import type { ColumnShape } from './sync-schema.js';

export type Affinity = ReturnType<typeof affinityOf>;

/**
 * Text SQLite's numeric affinities turn into a number (sqlite3AtoF accepts the whole string):
 * optional whitespace (space, \t \n \v \f \r), a sign, digits with an optional point (or a point
 * and digits), an optional exponent with digits, optional whitespace. Hex is not converted.
 * spec/node/replica/key-affinity.test.ts checks this against SQLite itself.
 */
const NUMERIC_TEXT = /^[ \t\n\v\f\r]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\v\f\r]*$/;

/** The affinity of each key column of a table, in key order. */
export function keyAffinities(pk: ColumnShape[]): Affinity[] {
  return pk.map((c) => affinityOf(c.type));
}

/**
 * Why a key value is not canonical for a column of `affinity` (SQLite would store it as another
 * type or value), or null when it is. `rowid`: the key is an INTEGER PRIMARY KEY (the rowid),
 * which holds integers only. Call only with a valid non-null SqlValue.
 */
export function nonCanonicalKey(affinity: Affinity, v: SqlValue, rowid = false): string | null {
  if (rowid) {
    // Any integral double in int64 range is stored as that integer (sql.js hands big ones over as doubles).
    return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63 ? null : 'an INTEGER PRIMARY KEY holds 64-bit integers only';
  }
  switch (affinity) {
    case 'TEXT':
      return typeof v === 'number' ? 'a number in a TEXT key column would be stored as text' : null;
    case 'INTEGER':
    case 'REAL':
    case 'NUMERIC':
      return typeof v === 'string' && NUMERIC_TEXT.test(v) ? `numeric text in a ${affinity} key column would be stored as a number` : null;
    case 'BLOB':
      return null;
  }
}
