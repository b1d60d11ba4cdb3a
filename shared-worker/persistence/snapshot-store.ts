/**
 * The durable layout of one database in its KeyValueStore, and reading it back at start-up:
 *   meta              {format, snapshotSeq, snapshotBytes, nodeId, version[, pieces]}: which snapshot is current
 *   snap              format 1: the replica's export() covering every log entry with seq <= snapshotSeq
 *   snap:<gen>:<i>    format 2: the same file in pieces of PIECE_BYTES, listed in meta.pieces in order
 *   log:<seq>         one encoded LogRecord per commit after the snapshot (durable-log-record.ts)
 *   peer:<nodeId>     what we know a peer holds (its version vector)
 * Format 1 is written in one transaction with its meta (a snapshot taken with a group). Format 2
 * is written by a background snapshot: its pieces first, each in its own transaction under a new
 * <gen>, then one transaction switches meta to them and deletes what they replace. Until that
 * switch the old snapshot stays current, so a crash in between loses nothing; pieces no meta
 * lists are removed at the next open. Both formats are read.
 */
import type { VersionVector } from '../replica/contracts/version-vector.js';
import type { KeyValueStore, KeyValueWrite } from './kv-store.js';
import { BatteryError } from '../protocol/errors.js';
import { decodeLogRecord, LOG_PREFIX, logKey, seqOfLogKey, type LogRecord } from './durable-log-record.js';

const META_KEY = 'meta';
const SNAPSHOT_KEY = 'snap';
const PEER_PREFIX = 'peer:';
const RECORD_PREFIX = 'record:';
const META_FORMAT = 1;
const META_FORMAT_PIECES = 2;
const PIECE_PREFIX = 'snap:';
/** Bytes per snapshot piece: few values to read at start-up, and a cheap store write per piece. */
export const PIECE_BYTES = 1 << 20;
/** Log entries fetched per getMany at start-up: bounds memory held by raw entries at once. */
const LOAD_BATCH = 256;

export interface SnapshotMeta {
  format: number;
  snapshotSeq: number;
  snapshotBytes: number;
  nodeId: string;
  /** The database's getVersion() at the snapshot (see durable-replica.ts for why it is kept). */
  version: number;
  /** Format 2: the keys of the snapshot's pieces, in file order. */
  pieces?: string[];
}

export interface LoadedState {
  meta: SnapshotMeta | null;
  snapshot: Uint8Array | null;
  /** Decodable log records after the snapshot, in order, stopping at the first damaged one. */
  records: LogRecord[];
  recordBytes: number;
  /** Encoded size of each record, in the same order. */
  recordSizes: number[];
  /** Sequence number of the last record kept (the snapshot's when there is none). */
  lastSeq: number;
  /** Keys that must go: entries the snapshot already covers, and damaged entries with all after them. */
  staleKeys: string[];
  /** How many entries were dropped as damaged (a torn or corrupted tail). */
  dropped: number;
  peers: Map<string, VersionVector>;
}

export async function loadState(store: KeyValueStore, warn: (msg: string) => void): Promise<LoadedState> {
  // All reads at once (meta and snap in one transaction, so they agree): each serial IndexedDB
  // round trip adds to a cold start. Nothing writes meanwhile: the caller holds the store.
  const [[rawMeta, rawSnapshot], logKeys, peers, pieceKeys] = await Promise.all([
    store.getMany<unknown>([META_KEY, SNAPSHOT_KEY]), store.keys(LOG_PREFIX), loadPeers(store), store.keys(PIECE_PREFIX),
  ]);
  const meta = checkMeta(rawMeta);
  const snapshot = meta?.pieces ? await loadPieces(store, meta.pieces, meta.snapshotBytes) : meta ? rawSnapshot : null;
  if (meta && !(snapshot instanceof Uint8Array)) {
    throw new BatteryError('WORKER', 'storage holds a snapshot pointer but no snapshot; refusing to open a partial database');
  }
  const snapshotSeq = meta?.snapshotSeq ?? 0;
  // Pieces of a background snapshot that never became current (a crash before its switch).
  const current = new Set(meta?.pieces ?? []);
  const staleKeys: string[] = pieceKeys.filter((k) => !current.has(k));
  const live: Array<{ key: string; seq: number }> = [];
  for (const key of logKeys) {
    const seq = seqOfLogKey(key);
    if (seq === null || seq <= snapshotSeq) staleKeys.push(key);
    else live.push({ key, seq });
  }
  const records: LogRecord[] = [];
  const recordSizes: number[] = [];
  let recordBytes = 0;
  let damagedAt = -1;
  for (let i = 0; i < live.length && damagedAt < 0; i += LOAD_BATCH) {
    const slice = live.slice(i, i + LOAD_BATCH);
    const values = await store.getMany<unknown>(slice.map((e) => e.key));
    for (let j = 0; j < slice.length; j++) {
      const entry = slice[j]!;
      const record = tryDecode(values[j], entry.seq);
      // Entries are written contiguously after the snapshot; a gap means one went missing.
      const expectedSeq = (records.length === 0 ? snapshotSeq : records[records.length - 1]!.seq) + 1;
      if (!record || entry.seq !== expectedSeq) {
        damagedAt = i + j;
        break;
      }
      records.push(record);
      recordSizes.push((values[j] as Uint8Array).byteLength);
      recordBytes += (values[j] as Uint8Array).byteLength;
    }
  }
  let dropped = 0;
  if (damagedAt >= 0) {
    // Replaying past a hole could apply a change without the one it was made on top of; the
    // entries from the damage on are dropped (they were at most the in-flight tail of a crash).
    dropped = live.length - damagedAt;
    staleKeys.push(...live.slice(damagedAt).map((e) => e.key));
    warn(`rtc-battery: dropped ${dropped} damaged log entr${dropped === 1 ? 'y' : 'ies'} from ${live[damagedAt]!.key} on`);
  }
  const lastSeq = records.length > 0 ? records[records.length - 1]!.seq : snapshotSeq;
  return { meta, snapshot: (snapshot as Uint8Array | undefined) ?? null, records, recordBytes, recordSizes, lastSeq, staleKeys, dropped, peers };
}

/** A format 2 snapshot put back together; undefined when a piece is missing or damaged. */
async function loadPieces(store: KeyValueStore, keys: string[], bytes: number): Promise<Uint8Array | undefined> {
  const parts = await store.getMany<unknown>(keys);
  const file = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    if (!(part instanceof Uint8Array) || at + part.byteLength > bytes) return undefined;
    file.set(part, at);
    at += part.byteLength;
  }
  return at === bytes ? file : undefined;
}

/** Where piece `index` of background snapshot `gen` is stored. */
export function pieceKey(gen: string, index: number): string {
  return `${PIECE_PREFIX}${gen}:${index}`;
}

/** Piece `index` of `file` (a copy: exact bytes, see snapshotWrite). */
export function pieceOf(file: Uint8Array, index: number): Uint8Array {
  return file.slice(index * PIECE_BYTES, Math.min(file.byteLength, (index + 1) * PIECE_BYTES));
}

export function pieceCount(bytes: number): number {
  return Math.ceil(bytes / PIECE_BYTES);
}

/**
 * The switch to a background snapshot whose pieces are stored: meta (format 2) naming them, and
 * everything they replace deleted (covered log entries, the previous snapshot in either format).
 */
export function piecesInstallWrite(meta: Omit<SnapshotMeta, 'format' | 'pieces'>, pieces: string[], deleted: string[]): KeyValueWrite {
  return {
    del: [...deleted, SNAPSHOT_KEY],
    set: [[META_KEY, { format: META_FORMAT_PIECES, ...meta, pieces } satisfies SnapshotMeta]],
  };
}

/** The write that installs a snapshot: meta + snap, and every log entry it covers deleted. */
export function snapshotWrite(meta: Omit<SnapshotMeta, 'format'>, snapshot: Uint8Array, coveredKeys: string[]): KeyValueWrite {
  // Structured clone (IndexedDB) stores a view's whole underlying buffer: store exact bytes only.
  if (snapshot.byteOffset !== 0 || snapshot.buffer.byteLength !== snapshot.byteLength) snapshot = snapshot.slice();
  return {
    del: coveredKeys,
    set: [[META_KEY, { format: META_FORMAT, ...meta } satisfies SnapshotMeta], [SNAPSHOT_KEY, snapshot]],
  };
}

/** Keys of the contiguous log entries firstSeq..lastSeq. */
export function logKeysBetween(firstSeq: number, lastSeq: number): string[] {
  const keys: string[] = [];
  for (let s = firstSeq; s <= lastSeq; s++) keys.push(logKey(s));
  return keys;
}

export function peerKey(nodeId: string): string {
  return PEER_PREFIX + nodeId;
}

/** Where DurableReplica.putRecords keeps a record (apart from log, snapshot and peer keys). */
export function recordKey(key: string): string {
  return RECORD_PREFIX + key;
}

function tryDecode(value: unknown, seq: number): LogRecord | null {
  if (!(value instanceof Uint8Array)) return null;
  try {
    const record = decodeLogRecord(value);
    return record.seq === seq ? record : null;
  } catch {
    return null;
  }
}

function checkMeta(x: unknown): SnapshotMeta | null {
  if (x === undefined) return null;
  const m = x as Partial<SnapshotMeta>;
  const piecesOk = (p: unknown) => Array.isArray(p) && p.every((k) => typeof k === 'string');
  if (typeof m !== 'object' || m === null || !Number.isSafeInteger(m.snapshotSeq)
    || !(m.format === META_FORMAT ? m.pieces === undefined : m.format === META_FORMAT_PIECES && piecesOk(m.pieces))
    || typeof m.nodeId !== 'string' || typeof m.snapshotBytes !== 'number' || !Number.isSafeInteger(m.version)) {
    throw new BatteryError('VERSION', 'storage holds a database in a format this version cannot read', { meta: x as Record<string, unknown> });
  }
  return m as SnapshotMeta;
}

async function loadPeers(store: KeyValueStore): Promise<Map<string, VersionVector>> {
  const keys = await store.keys(PEER_PREFIX);
  const values = await store.getMany<unknown>(keys);
  const peers = new Map<string, VersionVector>();
  keys.forEach((k, i) => {
    const v = values[i];
    if (isVector(v)) peers.set(k.slice(PEER_PREFIX.length), v);
  });
  return peers;
}

function isVector(v: unknown): v is VersionVector {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    && Object.values(v).every((x) => typeof x === 'number' && Number.isFinite(x));
}
