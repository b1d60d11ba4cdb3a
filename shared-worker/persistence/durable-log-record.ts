/**
 * One entry of the durable log: what one committed transaction did, enough to redo it on the
 * state before it (changes through applyChanges({trusted}), non-synced rows through replayRows).
 *
 * Stored as msgpack of positional arrays (about half the bytes of the object form, and the shape
 * is checked field by field on the way back in, since a damaged entry must be detected, not
 * replayed). Every SqlValue round-trips exactly: integers, doubles (incl. ±Infinity, beyond 2^53),
 * strings and bytes are native msgpack; -0 would come back as 0 (msgpack encodes it as an
 * integer), so it travels as an extension (msgpack-negative-zero.ts).
 *
 * Two kinds of entry, told apart by the first element:
 *   [1, seq, version, changes | null, rows]        what a transaction wrote (format 1), with a
 *                                                  sixth element [[node, hlc, body]...] when it
 *                                                  kept other replicas' signed bodies, and a
 *                                                  seventh [[node, hlc]...] when a vector
 *                                                  ceiling held entries back (the sixth is then
 *                                                  present, possibly empty), and an eighth, a
 *                                                  change set, when it parked registers
 *                                                  (Commit.parked; the sixth and seventh are
 *                                                  then present, possibly empty);
 *   ['schema', seq, version, sql, schemaVersion]   a SchemaChange (replica-types.ts), replayed by
 *                                                  running it again. A string tag, so that it
 *                                                  can never be taken for a numbered format.
 */
import { Decoder } from '@msgpack/msgpack';
import type { CellChange, ChangeSet, RowDelta, SignedBody, SqlValue, StampRef, TableDelta } from '../replica/contracts/change-set.js';
import { negativeZeroCodec } from '../replica/contracts/msgpack-negative-zero.js';
import { MsgpackWriter } from './msgpack-writer.js';
import type { RowWrite, SchemaChange } from '../replica/contracts/replica-types.js';
import type { VersionVector } from '../replica/contracts/version-vector.js';

export interface LogRecord {
  seq: number;
  /** The database's getVersion() right after this commit (see durable-replica.ts for why). */
  version: number;
  changes: ChangeSet | null;
  rows: RowWrite[];
  /** A schema change logged as itself (changes null, rows empty). */
  schema?: SchemaChange;
  /** Signed bodies of other replicas this commit kept (a remote apply); absent in older records. */
  signed?: SignedBody[];
  /** Commit.vectorCeiling: replayed with it, so the vector rises no further than it did. */
  vectorCeiling?: VersionVector;
  /** Commit.parked: replayed as ApplyOptions.parked (parked again, never merged). */
  parked?: ChangeSet;
}

const FORMAT = 1;
const SCHEMA_TAG = 'schema';
const codec = negativeZeroCodec;

// One writer/decoder for the module: reuses its working buffer. finish() returns an exact copy:
// IndexedDB's structured clone stores a view's WHOLE buffer, so a view on the writer's buffer
// would cost its whole size on disk for each small entry.
const decoder = new Decoder({ extensionCodec: codec });
const writer = new MsgpackWriter();

/** Sequence keys are zero-padded so that the store's key order is the log order. */
export const LOG_PREFIX = 'log:';
const DIGITS = /^\d+$/;
const SEQ_DIGITS = 12;

export function logKey(seq: number): string {
  return LOG_PREFIX + String(seq).padStart(SEQ_DIGITS, '0');
}

export function seqOfLogKey(key: string): number | null {
  const digits = key.slice(LOG_PREFIX.length);
  return key.startsWith(LOG_PREFIX) && DIGITS.test(digits) ? Number(digits) : null;
}

export function encodeLogRecord(r: LogRecord): Uint8Array {
  // The writer emits what `encoder` would for the positional arrays (msgpack-writer.ts): a
  // 100k-row record took ~390 ms through the generic encoder, most of a bulk exec's log cost.
  try {
    if (r.schema) {
      if (r.changes || r.rows.length > 0) throw new Error('a schema change record carries no changes or rows');
      writer.arrayHeader(5);
      writer.string(SCHEMA_TAG);
      writer.number(r.seq);
      writer.number(r.version);
      writer.string(r.schema.sql);
      if (r.schema.schemaVersion === null) writer.nil();
      else writer.number(r.schema.schemaVersion);
      return writer.finish();
    }
    // A sixth element only when there are signed bodies: records without them keep the old shape.
    const signed = r.signed && r.signed.length > 0 ? r.signed : null;
    const parked = r.parked && r.parked.tables.length > 0 ? r.parked : null;
    const ceiling = r.vectorCeiling && Object.keys(r.vectorCeiling).length > 0 ? Object.entries(r.vectorCeiling) : parked ? [] : null;
    writer.arrayHeader(parked ? 8 : ceiling ? 7 : signed ? 6 : 5);
    writer.number(FORMAT);
    writer.number(r.seq);
    writer.number(r.version);
    if (r.changes) writeChanges(r.changes);
    else writer.nil();
    writer.arrayHeader(r.rows.length);
    for (const w of r.rows) {
      if (w.op === 'upsert') {
        writer.arrayHeader(5);
        writer.number(1);
        writer.string(w.table);
        writer.number(w.rowid);
        writer.arrayHeader(w.columns.length);
        for (const c of w.columns) writer.string(c);
        writer.arrayHeader(w.values.length);
        for (const x of w.values) writer.value(x);
      } else {
        writer.arrayHeader(3);
        writer.number(0);
        writer.string(w.table);
        writer.number(w.rowid);
      }
    }
    if (signed || ceiling) {
      writer.arrayHeader(signed?.length ?? 0);
      for (const b of signed ?? []) {
        writer.arrayHeader(3);
        writer.string(b.node);
        writer.number(b.hlc);
        writer.binary(b.body);
      }
    }
    if (ceiling) {
      writer.arrayHeader(ceiling.length);
      for (const [node, hlc] of ceiling) {
        writer.arrayHeader(2);
        writer.string(node);
        writer.number(hlc);
      }
    }
    if (parked) writeChanges(parked);
    return writer.finish();
  } catch (e) {
    writer.discard();
    throw e;
  }
}

/** [nodes, [[table, columns, [[pk, put, del, [[col, value, hlc, node]...]]...]]...]] */
function writeChanges(cs: ChangeSet): void {
  writer.arrayHeader(2);
  writer.arrayHeader(cs.nodes.length);
  for (const n of cs.nodes) writer.string(n);
  writer.arrayHeader(cs.tables.length);
  for (const t of cs.tables) {
    writer.arrayHeader(3);
    writer.string(t.table);
    writer.arrayHeader(t.columns.length);
    for (const c of t.columns) writer.string(c);
    writer.arrayHeader(t.rows.length);
    for (const row of t.rows) {
      writer.arrayHeader(4);
      writer.arrayHeader(row.pk.length);
      for (const x of row.pk) writer.value(x);
      writeStamp(row.put);
      writeStamp(row.del);
      writer.arrayHeader(row.cells.length);
      for (const c of row.cells) {
        writer.arrayHeader(4);
        writer.number(c[0]);
        writer.value(c[1]);
        writer.number(c[2]);
        writer.number(c[3]);
      }
    }
  }
}

function writeStamp(s: StampRef | null): void {
  if (s === null) return writer.nil();
  writer.arrayHeader(2);
  writer.number(s[0]);
  writer.number(s[1]);
}

/** Decodes and checks an entry; throws (any Error) when it is damaged or of an unknown format. */
export function decodeLogRecord(bytes: Uint8Array): LogRecord {
  const top = arr(decoder.decode(bytes));
  if (top.length !== 5 && !(top.length >= 6 && top.length <= 8 && top[0] === FORMAT)) throw new Error('bad log record shape');
  if (top[0] === SCHEMA_TAG) {
    const schemaVersion = top[4] === null ? null : int(top[4]);
    return { seq: int(top[1]), version: int(top[2]), changes: null, rows: [], schema: { sql: str(top[3]), schemaVersion } };
  }
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
  const record: LogRecord = { seq, version, changes, rows, ...(signed.length > 0 || top.length === 6 ? { signed } : {}) };
  if (top.length >= 7) {
    const ceiling: VersionVector = {};
    for (const x of arr(top[6])) {
      const [node, hlc] = arr(x, 2);
      ceiling[str(node)] = int(hlc);
    }
    if (top.length === 7 || Object.keys(ceiling).length > 0) record.vectorCeiling = ceiling;
  }
  if (top.length === 8) record.parked = decodeChanges(top[7]);
  return record;
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
