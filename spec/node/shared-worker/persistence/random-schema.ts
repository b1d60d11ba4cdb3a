/**
 * Random synced schemas and random statements over them, for the reopen and peer properties.
 *
 * Two synced tables of one schema, t and u (u is INSERT ... SELECT's target), and optionally a
 * user trigger on t that writes a non-synced table audit (so row images ride along with changes).
 * Keys come from a small pool so statements collide: key index i (0..5) names one key per kind,
 * including the rowid-alias keys 0 and -1, an empty blob, and a composite key of both kinds.
 */
import fc from 'fast-check';
import type { SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';

export type KeyKind = 'ipk' | 'int' | 'text' | 'blob' | 'composite';

export interface RandomSchema {
  key: KeyKind;
  defaults: boolean;
  check: boolean;
  index: boolean;
  trigger: boolean;
}

export const SYNCED = ['t', 'u'] as const;

export const schemaArb: fc.Arbitrary<RandomSchema> = fc.record({
  key: fc.constantFrom<KeyKind>('ipk', 'int', 'text', 'blob', 'composite'),
  defaults: fc.boolean(),
  check: fc.boolean(),
  index: fc.boolean(),
  trigger: fc.boolean(),
});

export function keyColumns(s: RandomSchema): string[] {
  return s.key === 'composite' ? ['id', 'k2'] : ['id'];
}

function tableDdl(s: RandomSchema, name: string): string {
  const key = {
    ipk: 'id INTEGER PRIMARY KEY NOT NULL',
    int: 'id INT PRIMARY KEY NOT NULL',
    text: 'id TEXT PRIMARY KEY NOT NULL',
    blob: 'id BLOB PRIMARY KEY NOT NULL',
    composite: 'id INTEGER NOT NULL, k2 TEXT NOT NULL',
  }[s.key];
  const a = `a TEXT${s.defaults ? " DEFAULT 'd'" : ''}`;
  const b = `b INTEGER${s.defaults ? ' DEFAULT 7' : ''}${s.check ? ' CHECK (b IS NULL OR b < 1000)' : ''}`;
  const pk = s.key === 'composite' ? ', PRIMARY KEY (id, k2)' : '';
  return `CREATE TABLE ${name} (${key}, ${a}, ${b}${pk})`;
}

/** DDL of everything, synced tables first (enableSync them after). */
export function schemaDdl(s: RandomSchema): string {
  const out = SYNCED.map((t) => tableDdl(s, t));
  if (s.index) out.push('CREATE INDEX t_ab ON t(a, b)', 'CREATE INDEX u_b ON u(b)');
  if (s.trigger) {
    out.push(
      'CREATE TABLE audit (n INTEGER PRIMARY KEY, what TEXT)',
      "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO audit(what) VALUES ('+' || quote(NEW.a)); END",
      "CREATE TRIGGER t_upd AFTER UPDATE OF a ON t BEGIN INSERT INTO audit(what) VALUES ('~' || quote(NEW.a)); END",
    );
  }
  return out.join('; ');
}

function keyValue(s: RandomSchema, i: number): SqlValue[] {
  switch (s.key) {
    case 'ipk':
    case 'int': return [i - 1];
    case 'text': return [`k${i}`];
    case 'blob': return [i === 0 ? new Uint8Array(0) : Uint8Array.of(i, 255)];
    case 'composite': return [(i % 3) - 1, `k${i >> 1}`];
  }
}

type Where = { kind: 'point'; key: number } | { kind: 'range'; key: number } | { kind: 'b'; b: SqlValue } | { kind: 'all' };

type Row = { key: number; a: SqlValue; b: SqlValue };

/** A statement form the README promises to capture. */
export type Stmt =
  | { k: 'insert'; form: 'plain' | 'replace' | 'ignore' | 'upsert' | 'upsert-key' | 'defaults'; rows: Row[] }
  | { k: 'update'; set: 'a' | 'b' | 'ab' | 'key' | 'rowid' | 'row-value'; where: Where; a: SqlValue; b: SqlValue; key: number; or: '' | 'OR REPLACE' | 'OR IGNORE'; rowid: 'rowid' | '_rowid_' | 'oid' }
  | { k: 'delete'; where: Where }
  | { k: 'insert-select'; form: 'ignore' | 'replace'; where: Where }
  | { k: 'copy-back' };

const aArb = fc.constantFrom<SqlValue>('x', 'y', '', null, 'é☃');
const bArb = fc.constantFrom<SqlValue>(0, 1, -5, null, 2 ** 40, 5000);
const keyArb = fc.integer({ min: 0, max: 5 });
const rowArb = fc.record({ key: keyArb, a: aArb, b: bArb });
const whereArb: fc.Arbitrary<Where> = fc.oneof(
  { weight: 4, arbitrary: keyArb.map((key) => ({ kind: 'point' as const, key })) },
  keyArb.map((key) => ({ kind: 'range' as const, key })),
  bArb.map((b) => ({ kind: 'b' as const, b })),
  fc.constant({ kind: 'all' as const }),
);

const stmtArb: fc.Arbitrary<Stmt> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('insert' as const), form: fc.constantFrom('plain', 'replace', 'ignore', 'upsert', 'upsert-key', 'defaults'), rows: fc.array(rowArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('update' as const), set: fc.constantFrom('a', 'b', 'ab', 'key', 'rowid', 'row-value'), where: whereArb, a: aArb, b: bArb, key: keyArb, or: fc.constantFrom('', 'OR REPLACE', 'OR IGNORE'), rowid: fc.constantFrom('rowid', '_rowid_', 'oid') }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), where: whereArb }) },
  fc.record({ k: fc.constant('insert-select' as const), form: fc.constantFrom('ignore', 'replace'), where: whereArb }),
  fc.constant({ k: 'copy-back' as const }),
);

/** One exec: one or two statements (two run as one transaction, one stamp). */
export const execArb = fc.array(stmtArb, { minLength: 1, maxLength: 2 });

/** SQL and named parameters (named: array parameters would bind to every statement of the exec). */
export function render(s: RandomSchema, stmts: Stmt[]): { sql: string; params: Record<string, SqlValue> } {
  const params: Record<string, SqlValue> = {};
  let n = 0;
  const p = (v: SqlValue) => { const name = `:p${++n}`; params[name] = v; return name; };
  const keys = keyColumns(s);
  const keyEq = (i: number, alias = '') => keyValue(s, i).map((v, j) => `${alias}${keys[j]} = ${p(v)}`).join(' AND ');
  const where = (w: Where) => {
    switch (w.kind) {
      case 'point': return `WHERE ${keyEq(w.key)}`;
      case 'range': return `WHERE id >= ${p(keyValue(s, w.key)[0]!)}`;
      case 'b': return w.b === null ? 'WHERE b IS NULL' : `WHERE b = ${p(w.b)}`;
      case 'all': return '';
    }
  };
  const one = (st: Stmt): string => {
    switch (st.k) {
      case 'insert': {
        if (st.form === 'defaults') return `INSERT OR IGNORE INTO t (${keys.join(', ')}) VALUES ${st.rows.map((r) => `(${keyValue(s, r.key).map(p).join(', ')})`).join(', ')}`;
        const verb = { plain: 'INSERT', replace: 'INSERT OR REPLACE', ignore: 'INSERT OR IGNORE', upsert: 'INSERT', 'upsert-key': 'INSERT' }[st.form];
        const values = st.rows.map((r) => `(${[...keyValue(s, r.key), r.a, r.b].map(p).join(', ')})`).join(', ');
        // A bare VALUES before ON CONFLICT needs a WHERE true in front of it only with SELECT; not here.
        const tail = st.form === 'upsert' ? ` ON CONFLICT (${keys.join(', ')}) DO UPDATE SET a = excluded.a, b = coalesce(t.b, 0) + 1`
          : st.form === 'upsert-key' ? ` ON CONFLICT (${keys.join(', ')}) DO UPDATE SET id = id + 100` : '';
        // upsert-key moves the key: numeric keys only (a text/blob id + 100 would be an affinity puzzle, not a key change).
        if (st.form === 'upsert-key' && (s.key === 'text' || s.key === 'blob')) return `${verb} OR IGNORE INTO t (${[...keys, 'a', 'b'].join(', ')}) VALUES ${values}`;
        return `${verb} INTO t (${[...keys, 'a', 'b'].join(', ')}) VALUES ${values}${tail}`;
      }
      case 'update': {
        const target = `UPDATE ${st.or} t SET`;
        const newKey = keyValue(s, st.key)[0]!;
        switch (st.set) {
          case 'a': return `${target} a = ${p(st.a)} ${where(st.where)}`;
          case 'b': return `${target} b = coalesce(b, 0) + 1 ${where(st.where)}`;
          case 'ab': return `${target} a = ${p(st.a)}, b = ${p(st.b)} ${where(st.where)}`;
          case 'key': return `${target} id = ${p(newKey)} ${where(st.where)}`;
          case 'rowid': return `${target} ${st.rowid} = ${st.rowid} + 10 ${where(st.where)}`;
          case 'row-value': return `${target} (id, a) = (${p(newKey)}, ${p(st.a)}) ${where(st.where)}`;
        }
        break;
      }
      case 'delete': return `DELETE FROM t ${where(st.where)}`;
      case 'insert-select': return `INSERT OR ${st.form.toUpperCase()} INTO u SELECT * FROM t ${where(st.where)}`;
      case 'copy-back': return 'INSERT OR REPLACE INTO t SELECT * FROM u';
    }
  };
  const sql = stmts.map(one).join('; ');
  return { sql, params };
}
