/**
 * One entry of the durable log: what one committed transaction did, enough to redo it on the
 * state before it (changes through applyChanges({trusted}), non-synced rows through replayRows).
 *
 * Stored as msgpack of positional arrays (about half the bytes of the object form, and the shape
 * is checked field by field on the way back in, since a damaged entry must be detected, not
 * replayed). Every SqlValue round-trips exactly: integers, doubles (incl. ±Infinity, beyond 2^53),
 * strings and bytes are native msgpack; -0 would come back as 0 (msgpack encodes it as an
 * integer), so it travels as an extension (msgpack-negative-zero.ts).
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { CellChange, ChangeSet, RowDelta, SignedBody, SqlValue, StampRef, TableDelta } from '../replica/contracts/change-set.js';
import { markNegativeZero, negativeZeroCodec, type NegativeZero } from '../replica/contracts/msgpack-negative-zero.js';
import type { RowWrite } from '../replica/contracts/replica-types.js';

export interface LogRecord {
  seq: number;
  /** The database's getVersion() right after this commit (see durable-replica.ts for why). */
  version: number;
  changes: ChangeSet | null;
  rows: RowWrite[];
  /** Signed bodies of other replicas this commit stored (a remote apply); absent in older records. */
  signed?: SignedBody[];
}

const FORMAT = 1;
const codec = negativeZeroCodec;

// One encoder/decoder for the module: reuses its working buffer. Encoder.encode returns an exact
// copy; the package's encode() returns a view on a >= 2 KiB buffer, and IndexedDB's structured
// clone stores a view's WHOLE buffer, so each small entry would cost 2 KiB of disk.
const encoder = new Encoder({ extensionCodec: codec });
const decoder = new Decoder({ extensionCodec: codec });

/** Sequence keys are zero-padded so that the store's key order is the log order. */
export const LOG_PREFIX = 'log:';
const SEQ_DIGITS = 12;

export function logKey(seq: number): string {
  return LOG_PREFIX + String(seq).padStart(SEQ_DIGITS, '0');
}

export function seqOfLogKey(key: string): number | null {
  const digits = key.slice(LOG_PREFIX.length);
  return key.startsWith(LOG_PREFIX) && /^\d+$/.test(digits) ? Number(digits) : null;
}

export function encodeLogRecord(r: LogRecord): Uint8Array {
  const changes = r.changes
    ? [r.changes.nodes, r.changes.tables.map((t) => [t.table, t.columns, t.rows.map((row) => [
      row.pk.map(v), row.put, row.del, row.cells.map((c) => [c[0], v(c[1]), c[2], c[3]]),
    ])])]
    : null;
  const rows = r.rows.map((w) => (w.op === 'upsert'
    ? [1, w.table, w.rowid, w.columns, w.values.map(v)]
    : [0, w.table, w.rowid]));
  // A sixth element only when there are signed bodies: records without them keep the old shape.
  const top: unknown[] = [FORMAT, r.seq, r.version, changes, rows];
  if (r.signed && r.signed.length > 0) top.push(r.signed.map((b) => [b.node, b.hlc, b.body]));
  return encoder.encode(top);
}

/** Decodes and checks an entry; throws (any Error) when it is damaged or of an unknown format. */
export function decodeLogRecord(bytes: Uint8Array): LogRecord {
  const top = arr(decoder.decode(bytes));
  if (top.length !== 5 && top.length !== 6) throw new Error('bad log record shape');
  if (top[0] !== FORMAT) throw new Error(`unknown log record format ${String(top[0])}`);
  const seq = int(top[1]);
  const version = int(top[2]);
  const changes = top[3] === null ? null : decodeChanges(top[3]);
  const rows = arr(top[4]).map(decodeRowWrite);
  if (top.length === 5) return { seq, version, changes, rows };
  const signed = arr(top[5]).map((x): SignedBody => {
    const [node, hlc, body] = arr(x, 3);
    if (!(body instanceof Uint8Array)) throw new Error('bad signed body');
    return { node: str(node), hlc: num(hlc), body: body.slice() };
  });
  return { seq, version, changes, rows, signed };
}

function decodeChanges(x: unknown): ChangeSet {
  const [nodes, tables] = arr(x, 2);
  return {
    nodes: arr(nodes).map(str),
    tables: arr(tables).map((t): TableDelta => {
      const [table, columns, rows] = arr(t, 3);
      return { table: str(table), columns: arr(columns).map(str), rows: arr(rows).map(decodeRowDelta) };
    }),
  };
}

function decodeRowDelta(x: unknown): RowDelta {
  const [pk, put, del, cells] = arr(x, 4);
  return {
    pk: arr(pk).map(sqlValue),
    put: put === null ? null : stamp(put),
    del: del === null ? null : stamp(del),
    cells: arr(cells).map((c): CellChange => {
      const [col, value, hlc, node] = arr(c, 4);
      return [int(col), sqlValue(value), num(hlc), int(node)];
    }),
  };
}

function decodeRowWrite(x: unknown): RowWrite {
  const a = arr(x);
  if (a[0] === 1 && a.length === 5) {
    return { op: 'upsert', table: str(a[1]), rowid: num(a[2]), columns: arr(a[3]).map(str), values: arr(a[4]).map(sqlValue) };
  }
  if (a[0] === 0 && a.length === 3) return { op: 'delete', table: str(a[1]), rowid: num(a[2]) };
  throw new Error('bad row write');
}

function v(x: SqlValue): SqlValue | NegativeZero {
  return markNegativeZero(x);
}

function stamp(x: unknown): StampRef {
  const [hlc, node] = arr(x, 2);
  return [num(hlc), int(node)];
}

function sqlValue(x: unknown): SqlValue {
  if (x === null || typeof x === 'number' || typeof x === 'string') return x;
  // msgpack hands out views into the entry's buffer; a copy keeps replayed values independent.
  if (x instanceof Uint8Array) return x.slice();
  throw new Error('bad SqlValue');
}

function arr(x: unknown, length?: number): unknown[] {
  if (!Array.isArray(x) || (length !== undefined && x.length !== length)) throw new Error('bad log record shape');
  return x;
}

function str(x: unknown): string {
  if (typeof x !== 'string') throw new Error('expected a string');
  return x;
}

function num(x: unknown): number {
  if (typeof x !== 'number') throw new Error('expected a number');
  return x;
}

function int(x: unknown): number {
  if (!Number.isInteger(x)) throw new Error('expected an integer');
  return x as number;
}
