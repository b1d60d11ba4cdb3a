/**
 * Cuts a delta into pieces that are safe to apply one by one, even if the link dies in between.
 *
 * Why not plain splitChangeSet: applying a piece moves the receiver's version vector to the
 * highest stamp per origin it contained, and the vector means "I hold every change of that origin
 * up to here". If piece 1 held (A:9) and piece 2 held an older (A:4), a link lost after piece 1
 * leaves the receiver claiming A:9 without A:4, and no later delta would ever send A:4.
 * So registers are ordered by hlc and pieces are cut only where the hlc changes: after any prefix
 * of pieces, the receiver holds every delta register at or below each hlc it was sent. A row
 * whose registers carry several hlcs is sent as several partial rows (a RowDelta may carry any
 * subset of its registers); since a row's `put` is at least as new as each of its cells, a row
 * becomes visible only together with (or after) all its cells.
 *
 * One exec's changes share one hlc, so a huge single exec is one piece; only above
 * `maxUnsplitRows` rows is such a group split by rows (then a link lost mid-group can leave that
 * gap; documented limit, 50k rows by default, see sync-options.ts).
 */
import type { DeltaTotal, PeerMessage } from './peer-protocol.js';
import { EMPTY_CHANGE_SET, type ChangeSet, type RowDelta, type SignedBody, type TableDelta } from '../replica/contracts/change-set.js';
import type { DurableReplica } from '../replica/contracts/replica-types.js';
import { entryOf, type VersionVector } from '../replica/contracts/version-vector.js';
import { authorBatch, type OwnSigner } from './authored-batch.js';
import { signedSetRows } from './change-set-signature.js';

/** What a delta is made of, read from the replica at one instant (inside durableRead). */
export interface DeltaSource {
  upTo: VersionVector;
  changes: ChangeSet;
  bodies: SignedBody[];
  /** Replica.isKnownAuthor as of the read (authorBatch leaves their unsigned registers out). */
  knownAuthor: (nodeId: string) => boolean;
  /** `changes` holds every own register above this hlc (the asker's entry for us). */
  ownBase: number;
}

export function readDelta(replica: DurableReplica, since: VersionVector, common: ReadonlySet<string>): DeltaSource {
  const upTo = replica.getVector();
  const ownBase = entryOf(since, replica.nodeId) ?? 0;
  // Every table, not only the shared ones: own sets are signed whole (the receiver applies the
  // tables it shares), so the same signed set serves every peer.
  const knownAuthor = (nodeId: string) => replica.isKnownAuthor(nodeId);
  if (common.size === 0) return { upTo, changes: EMPTY_CHANGE_SET, bodies: [], knownAuthor, ownBase };
  return { upTo, changes: replica.changesSince(since), bodies: replica.signedSince(since), knownAuthor, ownBase };
}

/** Sizes of the delta pieces we send (sync progress): a signed set's rows are not in `changes`. */
const sizes = new WeakMap<PeerMessage, DeltaTotal>();

export function messageSize(msg: Extract<PeerMessage, { t: 'delta' | 'live' }>): DeltaTotal {
  return sizes.get(msg) ?? pieceSize(msg.changes);
}

/**
 * Everything above `since` in the shared tables, as delta messages; the last one says up to
 * where. Unsigned legacy registers come first, in stamp-ordered pieces (below); then the signed
 * sets in hlc order, whole, packed up to the piece limits. A set holds one stamp, so the pieces
 * keep the prefix rule below (the legacy and signed parts never share a node: docs/security.md).
 */
export async function deltaAnswer(source: DeltaSource, ownNodeId: string, signer: OwnSigner | null, common: ReadonlySet<string>, limits: PieceLimits): Promise<PeerMessage[]> {
  const { sets, legacy } = await authorBatch(source.changes, source.bodies, ownNodeId, signer, (stamp) => splitStamp(stamp, limits), source.knownAuthor, source.ownBase);
  const pieces: Array<{ changes: ChangeSet; signed: Uint8Array[]; size: DeltaTotal }> = orderedPieces(restrictToTables(legacy, common), limits)
    .map((changes) => ({ changes, signed: [], size: pieceSize(changes) }));
  sets.sort((a, b) => a.hlc - b.hlc);
  let open: (typeof pieces)[number] | null = null;
  for (const set of sets) {
    const rows = set.rows >= 0 ? set.rows : signedSetRows(set.body);
    if (open && (open.size.rows + rows > limits.pieceRows || open.size.bytes + set.body.length > limits.maxPieceBytes)) open = null;
    if (!open) pieces.push((open = { changes: EMPTY_CHANGE_SET, signed: [], size: { rows: 0, bytes: 0 } }));
    open.signed.push(set.body);
    open.size.rows += rows;
    open.size.bytes += set.body.length;
  }
  if (pieces.length === 0) pieces.push({ changes: EMPTY_CHANGE_SET, signed: [], size: { rows: 0, bytes: 0 } });
  const total = { rows: 0, bytes: 0 };
  for (const p of pieces) {
    total.rows += p.size.rows;
    total.bytes += p.size.bytes;
  }
  return pieces.map((p, i): PeerMessage => {
    const last = i === pieces.length - 1;
    const msg: PeerMessage = { t: 'delta', changes: p.changes, signed: p.signed, last, upTo: last ? source.upTo : null };
    if (i === 0) msg.total = total;
    sizes.set(msg, p.size);
    return msg;
  });
}

/** One stamp's registers in pieces that each fit a message (usually one piece). */
export function splitStamp(stamp: ChangeSet, limits: PieceLimits): ChangeSet[] {
  return orderedPieces(stamp, { ...limits, pieceRows: Number.MAX_SAFE_INTEGER });
}

/** Row changes in a piece and their estimated bytes: what sync progress counts, on both sides. */
export function pieceSize(cs: ChangeSet): DeltaTotal {
  let rows = 0;
  let bytes = 0;
  for (const t of cs.tables) {
    rows += t.rows.length;
    for (const r of t.rows) bytes += estimateBytes(r);
  }
  return { rows, bytes };
}

interface Unit {
  hlc: number;
  table: number;
  row: RowDelta;
}

export interface PieceLimits {
  /** Target rows per piece (whole hlc groups are packed up to it). */
  pieceRows: number;
  /** A single hlc group is split only above this many rows... */
  maxUnsplitRows: number;
  /** ...or above this many (estimated, pessimistic) bytes, so a piece always fits a message. */
  maxPieceBytes: number;
}

export function orderedPieces(cs: ChangeSet, limits: PieceLimits): ChangeSet[] {
  const units = toUnits(cs);
  if (units.length === 0) return [];
  let sorted = true;
  for (let i = 1; i < units.length && sorted; i++) sorted = units[i - 1]!.hlc <= units[i]!.hlc;
  if (!sorted) units.sort((a, b) => a.hlc - b.hlc);
  const { maxUnsplitRows, maxPieceBytes } = limits;
  // Pieces of several groups never need splitting; only a single oversized group does.
  const target = Math.min(limits.pieceRows, maxUnsplitRows);
  const pieces: ChangeSet[] = [];
  let from = 0;
  let bytes = 0;
  const flush = (to: number) => {
    if (to > from) pieces.push(build(cs, units, from, to));
    from = to;
    bytes = 0;
  };
  let i = 0;
  while (i < units.length) {
    let g = i;
    let groupBytes = 0;
    while (g < units.length && units[g]!.hlc === units[i]!.hlc) groupBytes += estimateBytes(units[g++]!.row);
    if (i > from && (g - from > target || bytes + groupBytes > maxPieceBytes)) flush(i);
    if (g - i > maxUnsplitRows || groupBytes > maxPieceBytes) {
      // One exec bigger than a message: split it by rows (the documented gap risk, above).
      let chunkBytes = 0;
      for (let u = i; u < g; u++) {
        const b = estimateBytes(units[u]!.row);
        if (u > from && (u - from >= maxUnsplitRows || chunkBytes + b > maxPieceBytes)) {
          flush(u);
          chunkBytes = 0;
        }
        chunkBytes += b;
      }
      flush(g);
    } else {
      bytes += groupBytes;
      if (g - from >= target || bytes >= maxPieceBytes) flush(g);
    }
    i = g;
  }
  flush(units.length);
  return pieces;
}

/**
 * An upper bound of a row's msgpack size: map + its 4 keys (18), key array header (5), put and
 * del as [uint64, uint32] (2 × 15), cells array header (5); per cell an array of 4 with column,
 * hlc and node (20); text counted at 3 bytes per UTF-16 unit. Node and column lists come on top,
 * hence the piece limit is half the message cap.
 */
export function estimateBytes(row: RowDelta): number {
  let n = 58;
  for (const v of row.pk) n += valueBytes(v);
  for (const c of row.cells) n += 20 + valueBytes(c[1]);
  return n;
}

function valueBytes(v: unknown): number {
  if (typeof v === 'string') return 5 + 3 * v.length;
  if (v instanceof Uint8Array) return 5 + v.length;
  return 9;
}

function toUnits(cs: ChangeSet): Unit[] {
  const units: Unit[] = [];
  cs.tables.forEach((t, table) => {
    for (const row of t.rows) {
      const h = singleHlc(row);
      if (h !== null) {
        units.push({ hlc: h, table, row });
        continue;
      }
      const byHlc = new Map<number, RowDelta>();
      const part = (hlc: number): RowDelta => {
        let r = byHlc.get(hlc);
        if (r === undefined) byHlc.set(hlc, (r = { pk: row.pk, put: null, del: null, cells: [] }));
        return r;
      };
      if (row.put) part(row.put[0]).put = row.put;
      if (row.del) part(row.del[0]).del = row.del;
      for (const c of row.cells) part(c[2]).cells.push(c);
      for (const [hlc, r] of byHlc) units.push({ hlc, table, row: r });
    }
  });
  return units;
}

/** The one hlc of all of a row's registers (the common case: written by one exec), else null. */
function singleHlc(row: RowDelta): number | null {
  let h: number | null = row.put ? row.put[0] : row.del ? row.del[0] : row.cells.length > 0 ? row.cells[0]![2] : 0;
  if (row.del && row.del[0] !== h) return null;
  for (const c of row.cells) if (c[2] !== h) return null;
  return h;
}

function build(cs: ChangeSet, units: Unit[], from: number, to: number): ChangeSet {
  const byTable = new Map<number, RowDelta[]>();
  for (let i = from; i < to; i++) {
    const u = units[i]!;
    let rows = byTable.get(u.table);
    if (rows === undefined) byTable.set(u.table, (rows = []));
    rows.push(u.row);
  }
  const tables: TableDelta[] = [...byTable.keys()]
    .sort((a, b) => a - b)
    .map((i) => ({ table: cs.tables[i]!.table, columns: cs.tables[i]!.columns, rows: byTable.get(i)! }));
  return { nodes: cs.nodes, tables };
}

/** Highest hlc per origin node among a change set's stamps. */
export function vectorOfChanges(cs: ChangeSet): VersionVector {
  const max = new Array<number>(cs.nodes.length).fill(-1);
  const see = (hlc: number, node: number) => {
    if (hlc > max[node]!) max[node] = hlc;
  };
  for (const t of cs.tables) {
    for (const r of t.rows) {
      if (r.put) see(r.put[0], r.put[1]);
      if (r.del) see(r.del[0], r.del[1]);
      for (const c of r.cells) see(c[2], c[3]);
    }
  }
  const out: VersionVector = {};
  cs.nodes.forEach((n, i) => {
    if (max[i]! < 0) return;
    const have = entryOf(out, n);
    if (have === undefined || have < max[i]!) out[n] = max[i]!;
  });
  return out;
}

/** The part of a change set that touches `tables` (same node list). */
export function restrictToTables(cs: ChangeSet, tables: ReadonlySet<string>): ChangeSet {
  if (cs.tables.every((t) => tables.has(t.table))) return cs;
  return { nodes: cs.nodes, tables: cs.tables.filter((t) => tables.has(t.table)) };
}
