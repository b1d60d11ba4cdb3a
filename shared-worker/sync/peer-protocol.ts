/**
 * Every message two authenticated peers exchange (after framing.ts has opened and decoded it),
 * and the one gate remote input passes: validatePeerMessage checks every field's type and bound
 * and throws BatteryError('BAD_OP'). On the wire, change sets travel in the compact form of
 * wire-changes.ts (encodePeerMessage); everywhere else they are ChangeSets. Change sets are
 * checked for shape here (indexes in range, values of the allowed kinds and sizes); their content
 * (tables, columns, stamps) is checked by replica.applyChanges against the local schema and clock.
 */
import type { CellChange, ChangeSet, RowDelta, SqlValue, StampRef, TableDelta } from '../replica/contracts/change-set.js';
import { BatteryError } from '../protocol/errors.js';
import { NODE_ID_PATTERN } from '../protocol/ids.js';
import { validateVector, type VersionVector } from '../replica/contracts/version-vector.js';
import { MAX_VALUE_BYTES, MAX_VECTOR_ENTRIES } from '../protocol/limits.js';
import { fromWire, toWire } from './wire-changes.js';

/**
 * Bumped on any incompatible change of these messages; a mismatch closes the link with VERSION.
 * 3: live batches and delta pieces carry signed sets (authored-batch.ts) beside unsigned legacy changes.
 * 4: signed sets name their author's previous stamp and their parts (change-set-signature.ts):
 *    a protocol 3 replica would refuse them as forged.
 */
export const PROTOCOL_VERSION = 4;

export type PeerMessage =
  /** First message on a sealed link: who we are, what we sync and what we hold. */
  | { t: 'hello'; protocol: number; nodeId: string; fingerprints: Record<string, string>; vector: VersionVector }
  /**
   * A piece of a delta answer (to hello or need), in stamp order; `last` ends the answer and
   * carries `upTo`, the sender's vector when it computed the delta: having applied every piece,
   * the receiver holds all the sender held then (for the tables they share), even where the
   * registers behind an entry were superseded and never sent. The first piece may carry `total`
   * (the whole answer's size, for progress); a piece without it is valid (older senders).
   */
  | { t: 'delta'; changes: ChangeSet; signed: Uint8Array[]; last: boolean; upTo: VersionVector | null; total?: DeltaTotal }
  /**
   * A committed batch, made on top of `madeAt`, pushed to ready peers as it happens. In both:
   * `signed` holds signed sets (bodies, checked before anything is applied) and `changes` the
   * unsigned legacy registers (docs/security.md, "Authorship").
   */
  | { t: 'live'; madeAt: VersionVector; changes: ChangeSet; signed: Uint8Array[] }
  /** "I lack what your live batch was made on: send me everything since this." */
  | { t: 'need'; since: VersionVector }
  /**
   * Sent after each data message (delta piece or live batch) is handled: what the sender now
   * holds (persisted by the receiver as its peer vector), and how many data messages it has
   * handled on this link so far (paces the other side, see send-window.ts).
   */
  | { t: 'ack'; vector: VersionVector; handled: number }
  | { t: 'ping'; n: number }
  | { t: 'pong'; n: number }
  | { t: 'bye'; reason: string };

type PeerMessageType = PeerMessage['t'];

/** A delta answer's size: row changes over all its pieces, and their estimated bytes (delta-pieces.ts). */
export interface DeltaTotal {
  rows: number;
  bytes: number;
}

export const PEER_LIMITS = {
  /** Node ids are 16 lowercase hex chars (NODE_ID_PATTERN, peer-link.ts). */
  maxNodeIdLength: 16,
  maxVectorEntries: MAX_VECTOR_ENTRIES,
  maxTables: 1_000,
  maxNameLength: 256,
  // A table descriptor carries 18 characters per column (schema-descriptor.ts): room for ~900 columns.
  maxFingerprintLength: 16_384,
  maxColumns: 2_000,
  maxKeyColumns: 64,
  /** Per value: the one cap of protocol/protocol/limits.ts; the frame reassembly cap (64 MiB) bounds the whole message. */
  maxValueBytes: MAX_VALUE_BYTES,
  maxReasonLength: 1_024,
  /** Signed sets per live batch or delta piece (a piece packs whole sets up to its row target). */
  maxSignedSets: 50_000,
} as const;


class Invalid extends BatteryError {
  constructor(message: string) {
    super('BAD_OP', `malformed peer message: ${message}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function expectKeys(o: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Invalid(`${what} has unexpected field ${JSON.stringify(k).slice(0, 40)}`);
}

function hlcNumber(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Invalid(`${what} must be a non-negative safe integer`);
  return v;
}

function boundedString(v: unknown, max: number, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new Invalid(`${what} must be a string of 1..${max} chars`);
  return v;
}

function nodeId(v: unknown, what: string): string {
  const s = boundedString(v, PEER_LIMITS.maxNodeIdLength, what);
  // Exactly what a peer id can carry (16 lowercase hex): only such nodes can ever join a room, and
  // ids like `constructor` or `__proto__` would otherwise meet Object.prototype in a vector.
  if (!NODE_ID_PATTERN.test(s)) throw new Invalid(`${what} is not a node id (16 lowercase hex chars)`);
  return s;
}

function sqlValue(v: unknown): SqlValue {
  if (v === null) return null;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Invalid('a cell value is not a finite number');
    return v;
  }
  if (typeof v === 'string') {
    // UTF-16 length <= bytes <= 3 x length, so this bounds the stored size.
    if (v.length > PEER_LIMITS.maxValueBytes) throw new Invalid('a text value is too large');
    return v;
  }
  if (v instanceof Uint8Array) {
    if (v.length > PEER_LIMITS.maxValueBytes) throw new Invalid('a blob value is too large');
    return v;
  }
  throw new Invalid(`a cell value has unsupported type ${typeof v}`);
}

function stampRef(v: unknown, nodes: number, what: string): StampRef | null {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== 2) throw new Invalid(`${what} must be null or [hlc, node]`);
  const node = v[1];
  if (typeof node !== 'number' || !Number.isInteger(node) || node < 0 || node >= nodes) throw new Invalid(`${what} node index out of range`);
  return [hlcNumber(v[0], `${what} hlc`), node];
}

function rowDelta(v: unknown, columns: number, nodes: number): RowDelta {
  if (!isRecord(v)) throw new Invalid('a row must be a map');
  expectKeys(v, ['pk', 'put', 'del', 'cells'], 'a row');
  const { pk, cells } = v;
  if (!Array.isArray(pk) || pk.length === 0 || pk.length > PEER_LIMITS.maxKeyColumns) throw new Invalid('a row key must be a non-empty array');
  for (let i = 0; i < pk.length; i++) if (sqlValue(pk[i]) === null) throw new Invalid('a row key holds NULL');
  if (!Array.isArray(cells) || cells.length > columns) throw new Invalid('row cells must be an array of at most one cell per column');
  for (const c of cells as unknown[]) {
    if (!Array.isArray(c) || c.length !== 4) throw new Invalid('a cell must be [column, value, hlc, node]');
    const col = c[0];
    const node = c[3];
    if (typeof col !== 'number' || !Number.isInteger(col) || col < 0 || col >= columns) throw new Invalid('a cell column index is out of range');
    if (typeof node !== 'number' || !Number.isInteger(node) || node < 0 || node >= nodes) throw new Invalid('a cell node index is out of range');
    sqlValue(c[1]);
    hlcNumber(c[2], 'a cell hlc');
  }
  return { pk: pk as SqlValue[], put: stampRef(v.put, nodes, 'put'), del: stampRef(v.del, nodes, 'del'), cells: cells as CellChange[] };
}

export function validateChangeSet(v: unknown): ChangeSet {
  if (!isRecord(v)) throw new Invalid('changes must be a map');
  expectKeys(v, ['nodes', 'tables'], 'changes');
  const { nodes, tables } = v;
  if (!Array.isArray(nodes) || nodes.length > PEER_LIMITS.maxVectorEntries) throw new Invalid('changes.nodes must be an array');
  nodes.forEach((n, i) => nodeId(n, `changes.nodes[${i}]`));
  if (!Array.isArray(tables) || tables.length > PEER_LIMITS.maxTables) throw new Invalid('changes.tables must be an array');
  const outTables: TableDelta[] = [];
  for (const t of tables as unknown[]) {
    if (!isRecord(t)) throw new Invalid('a table delta must be a map');
    expectKeys(t, ['table', 'columns', 'rows'], 'a table delta');
    const table = boundedString(t.table, PEER_LIMITS.maxNameLength, 'table name');
    const { columns, rows } = t;
    if (!Array.isArray(columns) || columns.length > PEER_LIMITS.maxColumns) throw new Invalid('columns must be an array');
    columns.forEach((c) => boundedString(c, PEER_LIMITS.maxNameLength, 'column name'));
    if (new Set(columns).size !== columns.length) throw new Invalid('duplicate column names');
    if (!Array.isArray(rows)) throw new Invalid('rows must be an array');
    const outRows = new Array<RowDelta>(rows.length);
    for (let i = 0; i < rows.length; i++) outRows[i] = rowDelta(rows[i], columns.length, nodes.length);
    outTables.push({ table, columns: columns as string[], rows: outRows });
  }
  return { nodes: nodes as string[], tables: outTables };
}

function fingerprints(v: unknown): Record<string, string> {
  if (!isRecord(v)) throw new Invalid('fingerprints must be a map');
  const keys = Object.keys(v);
  if (keys.length > PEER_LIMITS.maxTables) throw new Invalid('too many fingerprints');
  const out: Record<string, string> = {};
  for (const k of keys) {
    // Used as a plain-object key: "__proto__" would silently vanish (or worse) instead of being compared.
    if (k === '__proto__') throw new Invalid('fingerprint table name __proto__');
    boundedString(k, PEER_LIMITS.maxNameLength, 'fingerprint table');
    out[k] = boundedString(v[k], PEER_LIMITS.maxFingerprintLength, `fingerprint of ${k.slice(0, 40)}`);
  }
  return out;
}

function counter(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Invalid('a counter must be a non-negative integer');
  return v;
}

function signedSets(v: unknown, what: string): Uint8Array[] {
  if (!Array.isArray(v) || v.length > PEER_LIMITS.maxSignedSets) throw new Invalid(`${what} must be an array of at most ${PEER_LIMITS.maxSignedSets} signed sets`);
  for (const b of v) if (!(b instanceof Uint8Array) || b.length === 0) throw new Invalid(`${what} holds something other than a signed set's bytes`);
  return v as Uint8Array[];
}

function deltaTotal(v: unknown): DeltaTotal {
  if (!isRecord(v)) throw new Invalid('delta.total must be a map');
  expectKeys(v, ['rows', 'bytes'], 'delta.total');
  return { rows: counter(v.rows), bytes: counter(v.bytes) };
}

/** The only way a decoded message becomes a PeerMessage. Returns fresh objects holding only known fields. */
export function validatePeerMessage(raw: unknown): PeerMessage {
  if (!isRecord(raw)) throw new Invalid('not a map');
  const t = raw.t;
  if (typeof t !== 'string') throw new Invalid('missing type tag');
  const type = t as PeerMessageType;
  switch (type) {
    case 'hello': {
      // The version is checked first so a future hello with other fields still reports VERSION.
      if (typeof raw.protocol !== 'number' || !Number.isSafeInteger(raw.protocol)) throw new Invalid('hello.protocol must be an integer');
      if (raw.protocol !== PROTOCOL_VERSION) {
        throw new BatteryError('VERSION', `peer speaks protocol ${raw.protocol}, we speak ${PROTOCOL_VERSION}`, { remote: raw.protocol, local: PROTOCOL_VERSION });
      }
      expectKeys(raw, ['t', 'protocol', 'nodeId', 'fingerprints', 'vector'], 'hello');
      return { t: type, protocol: raw.protocol, nodeId: nodeId(raw.nodeId, 'hello.nodeId'), fingerprints: fingerprints(raw.fingerprints), vector: validateVector(raw.vector, 'hello.vector') };
    }
    case 'delta':
    {
      expectKeys(raw, ['t', 'changes', 'signed', 'last', 'upTo', 'total'], 'delta');
      if (typeof raw.last !== 'boolean') throw new Invalid('delta.last must be a boolean');
      if (raw.last !== (raw.upTo !== null)) throw new Invalid('delta.upTo must be a vector on the last piece and null before');
      const msg: PeerMessage = {
        t: type, changes: validateChangeSet(fromWire(raw.changes)), signed: signedSets(raw.signed, 'delta.signed'), last: raw.last, upTo: raw.last ? validateVector(raw.upTo, 'delta.upTo') : null,
      };
      if (raw.total !== undefined) msg.total = deltaTotal(raw.total);
      return msg;
    }
    case 'live':
      expectKeys(raw, ['t', 'madeAt', 'changes', 'signed'], 'live');
      return { t: type, madeAt: validateVector(raw.madeAt, 'live.madeAt'), changes: validateChangeSet(fromWire(raw.changes)), signed: signedSets(raw.signed, 'live.signed') };
    case 'need':
      expectKeys(raw, ['t', 'since'], 'need');
      return { t: type, since: validateVector(raw.since, 'need.since') };
    case 'ack':
      expectKeys(raw, ['t', 'vector', 'handled'], 'ack');
      return { t: type, vector: validateVector(raw.vector, 'ack.vector'), handled: counter(raw.handled) };
    case 'ping':
    case 'pong':
      expectKeys(raw, ['t', 'n'], type);
      return { t: type, n: counter(raw.n) };
    case 'bye':
      expectKeys(raw, ['t', 'reason'], 'bye');
      if (typeof raw.reason !== 'string' || raw.reason.length > PEER_LIMITS.maxReasonLength) throw new Invalid('bye.reason must be a short string');
      return { t: type, reason: raw.reason };
    default: {
      const unknownType: never = type;
      throw new Invalid(`unknown type ${JSON.stringify(unknownType).slice(0, 40)}`);
    }
  }
}

/** What goes to the encoder: the message with its change set in wire form. */
export function encodePeerMessage(msg: PeerMessage): unknown {
  switch (msg.t) {
    case 'delta':
    case 'live':
      return { ...msg, changes: toWire(msg.changes) };
    case 'hello':
    case 'need':
    case 'ack':
    case 'ping':
    case 'pong':
    case 'bye':
      return msg;
    default: {
      const unknownType: never = msg;
      return unknownType;
    }
  }
}
