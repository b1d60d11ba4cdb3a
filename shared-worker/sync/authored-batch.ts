/**
 * What a live batch or a delta piece carries since peer protocol 3 (docs/security.md,
 * "Authorship"): signed sets (bodies, change-set-signature.ts), each the registers of one stamp of
 * its signer, plus unsigned legacy changes (history without a body, written before replicas had
 * keys). The sender signs its own registers per stamp and forwards other nodes' stored bodies
 * verbatim; the receiver checks every body and the legacy rule before anything is applied.
 */
import { BatteryError } from '../protocol/errors.js';
import { EMPTY_CHANGE_SET, isEmptyChangeSet, mergeChangeSets, type CellChange, type ChangeSet, type RowDelta, type SignedBody, type TableDelta } from '../replica/contracts/change-set.js';
import type { SigningIdentity } from '../replica/contracts/signing-identity.js';
import { signChangeSet, verifyChangeSet, type SetLink } from './change-set-signature.js';

/**
 * Unsigned changes are accepted only when every stamp in them is below this hlc: the first
 * instant of 2026-12-06 UTC, the day of the signing release, in the hlc format (wall-clock
 * ms × 1024, docs/merge-rules.md). Why a fixed date: databases of builds without keys hold
 * history nobody can sign, and refusing it would strand existing rooms' data. Why this one:
 * key-bound node ids exist only since that release, so every stamp an honest key-bound node
 * made (on a correct clock) is at or past it; an unsigned forgery under such a node must be
 * stamped below it, hence below all of that node's changes, and hides none of them. What stays
 * open: unsigned history of pre-signing ids cannot be authenticated, and a build without keys
 * writing after the date is refused (it must upgrade) (docs/security.md, "Legacy history").
 */
export const LEGACY_HORIZON_HLC = Date.UTC(2026, 11, 6) * 1024;

export interface AuthoredBatch {
  /** Signed bodies, each checked on arrival. */
  signed: Uint8Array[];
  /** Unsigned legacy registers. */
  changes: ChangeSet;
}

/** A checked set's place in its author's chain of stamps (vector-chain.ts). */
export interface ChainLink extends SetLink {
  author: string;
  hlc: number;
}

/** An opened batch: everything in it as one change set, the bodies to keep beside it and their links. */
export interface OpenedBatch {
  changes: ChangeSet;
  signed: SignedBody[];
  links: ChainLink[];
  /** The changes of each signed set (sets[i] is signed[i]'s), and the unsigned part. */
  sets: ChangeSet[];
  legacy: ChangeSet;
}

/**
 * Splits a change set by stamp: `groupOf(node, hlc)` names the group of each register, or null to
 * drop it. Each group comes back as a change set of its own (its own node list). A row whose
 * registers all fall in one group (the common case: one exec wrote it) is passed on as it is when
 * its node indexes stay the same, else copied once; only mixed rows are cut.
 */
function partitionChanges(cs: ChangeSet, groupOf: (node: string, hlc: number) => string | null): Map<string, ChangeSet> {
  interface Group { nodes: string[]; map: Int32Array; tables: Map<number, TableDelta> }
  const groups = new Map<string, Group>();
  const groupFor = (key: string): Group => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { nodes: [], map: new Int32Array(cs.nodes.length).fill(-1), tables: new Map() }));
    return g;
  };
  const memo: Array<Map<number, string | null>> = cs.nodes.map(() => new Map());
  const keyOf = (hlc: number, node: number): string | null => {
    const m = memo[node]!;
    let k = m.get(hlc);
    if (k === undefined) m.set(hlc, (k = groupOf(cs.nodes[node]!, hlc)));
    return k;
  };
  const remap = (g: Group, n: number): number => {
    let i = g.map[n]!;
    if (i < 0) g.map[n] = i = g.nodes.push(cs.nodes[n]!) - 1;
    return i;
  };
  const add = (g: Group, ti: number, t: TableDelta, row: RowDelta): void => {
    let td = g.tables.get(ti);
    if (!td) g.tables.set(ti, (td = { table: t.table, columns: t.columns, rows: [] }));
    td.rows.push(row);
  };
  const copy = (g: Group, p: RowDelta): RowDelta => ({
    pk: p.pk,
    put: p.put && [p.put[0], remap(g, p.put[1])],
    del: p.del && [p.del[0], remap(g, p.del[1])],
    cells: p.cells.map((c): CellChange => [c[0], c[1], c[2], remap(g, c[3])]),
  });
  cs.tables.forEach((t, ti) => {
    for (const r of t.rows) {
      const first = r.put ?? r.del ?? (r.cells.length > 0 ? ([r.cells[0]![2], r.cells[0]![3]] as const) : null);
      if (first === null) continue;
      const [h0, n0] = first;
      let single = (!r.put || (r.put[0] === h0 && r.put[1] === n0)) && (!r.del || (r.del[0] === h0 && r.del[1] === n0));
      for (let i = 0; single && i < r.cells.length; i++) single = r.cells[i]![2] === h0 && r.cells[i]![3] === n0;
      if (single) {
        const key = keyOf(h0, n0);
        if (key === null) continue;
        const g = groupFor(key);
        add(g, ti, t, remap(g, n0) === n0 ? r : copy(g, r));
        continue;
      }
      const parts = new Map<string, RowDelta>();
      const part = (key: string): RowDelta => {
        let p = parts.get(key);
        if (!p) parts.set(key, (p = { pk: r.pk, put: null, del: null, cells: [] }));
        return p;
      };
      if (r.put) { const k = keyOf(r.put[0], r.put[1]); if (k !== null) part(k).put = r.put; }
      if (r.del) { const k = keyOf(r.del[0], r.del[1]); if (k !== null) part(k).del = r.del; }
      for (const c of r.cells) { const k = keyOf(c[2], c[3]); if (k !== null) part(k).cells.push(c); }
      for (const [key, p] of parts) {
        const g = groupFor(key);
        add(g, ti, t, copy(g, p));
      }
    }
  });
  const out = new Map<string, ChangeSet>();
  for (const [key, g] of groups) out.set(key, { nodes: g.nodes, tables: [...g.tables.values()] });
  return out;
}

const stampKey = (node: string, hlc: number) => `${node}:${hlc}`;

/**
 * Signs this replica's own registers, one set per stamp. Keeps the last few bodies so the same
 * set (e.g. a live batch going to every peer, or a delta answered twice) is signed once.
 */
export class OwnSigner {
  private readonly cache = new Map<string, { key: string; body: Promise<Uint8Array> }>();
  private static readonly CACHE_LIMIT = 256;

  constructor(readonly identity: SigningIdentity) {}

  /** `part`: which piece of an oversized stamp this is (0 for most). */
  sign(changes: ChangeSet, hlc: number, part = 0, link: SetLink = { prev: null, parts: 1 }): Promise<Uint8Array> {
    // The registers of a stamp can shrink (superseded) but never change otherwise: the shape
    // (tables, rows, registers per row) says whether the cached body holds exactly these.
    const key = `${link.prev}/${link.parts}/${fingerprintOf(changes)}`;
    const slot = `${hlc}:${part}`;
    const hit = this.cache.get(slot);
    if (hit && hit.key === key) return hit.body;
    const body = signChangeSet(this.identity, changes, link);
    if (this.cache.size >= OwnSigner.CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(slot, { key, body });
    body.catch(() => this.cache.delete(slot));
    return body;
  }
}

function fingerprintOf(cs: ChangeSet): string {
  let s = '';
  for (const t of cs.tables) {
    s += `${t.table}/${t.columns.length}/${t.rows.length};`;
    for (const r of t.rows) s += `${r.put ? 1 : 0}${r.del ? 1 : 0}${r.cells.length},`;
  }
  return s;
}

/**
 * What to send for `cs` (registers read from our replica) given the stored bodies that cover
 * some of its stamps: own registers signed per stamp, bodies as they are, the rest unsigned.
 * `signer` null: a replica without keys (test twins of older builds) sends everything unsigned.

 * Unsigned registers of a node we know to sign (`knownAuthor`, Replica.isKnownAuthor) are not
 * sent: they can only be a forgery taken before we knew (pre-horizon, docs/security.md "Legacy
 * history"), and a receiver that knows the node would refuse the whole batch for them.
 *
 * `ownBase`: `cs` holds every own register above this hlc (a delta above `since`: since[own]; a
 * live batch: our vector entry before the commit). Each own stamp is signed with the one before it
 * in `cs` (the first with ownBase) as its `prev`: no own stamp between them has live registers.
 * Null: unknown (the sets then never advance a receiver's chain).
 */
export async function authorBatch(cs: ChangeSet, bodies: readonly SignedBody[], ownNodeId: string, signer: OwnSigner | null, split: (stamp: ChangeSet) => ChangeSet[], knownAuthor: (nodeId: string) => boolean, ownBase: number | null): Promise<{ sets: Array<{ hlc: number; body: Uint8Array; rows: number }>; legacy: ChangeSet }> {
  const covered = new Set<string>();
  const sets: Array<{ hlc: number; body: Uint8Array; rows: number }> = [];
  for (const b of bodies) {
    if (signer && b.node === ownNodeId) continue; // own registers are signed from the registers
    covered.add(stampKey(b.node, b.hlc));
    sets.push({ hlc: b.hlc, body: b.body, rows: -1 });
  }
  const groups = partitionChanges(cs, (node, hlc) => {
    if (signer && node === ownNodeId) return `o${hlc}`;
    return covered.has(stampKey(node, hlc)) || knownAuthor(node) ? null : 'legacy';
  });
  const own: Array<Promise<{ hlc: number; body: Uint8Array; rows: number }>> = [];
  const ownStamps = [...groups.keys()].filter((k) => k !== 'legacy').map((k) => Number(k.slice(1))).sort((a, b) => a - b);
  let prev = ownBase;
  for (const hlc of ownStamps) {
    // One exec bigger than a message becomes several sets of the same stamp (any subset of a
    // stamp's registers is a valid set): `split` cuts it like a delta piece.
    const pieces = split(groups.get(`o${hlc}`)!);
    const link: SetLink = { prev: prev !== null && prev < hlc ? prev : null, parts: pieces.length };
    pieces.forEach((piece, i) => {
      const rows = piece.tables.reduce((n, t) => n + t.rows.length, 0);
      own.push(signer!.sign(piece, hlc, i, link).then((body) => ({ hlc, body, rows })));
    });
    prev = hlc;
  }
  sets.push(...(await Promise.all(own)));
  return { sets, legacy: groups.get('legacy') ?? EMPTY_CHANGE_SET };
}

/**
 * Throws AUTH unless every register of unsigned `cs` is legacy history (LEGACY_HORIZON_HLC) of a
 * node that is neither ours, nor the author of a signed set in the same batch, nor one the
 * replica knows to sign (`knownAuthor`, Replica.isKnownAuthor): a key-bound node has no unsigned
 * history, so unsigned changes under it are forged whatever their stamp.
 */
function assertUnsignedAllowed(cs: ChangeSet, ownNodeId: string, signers: ReadonlySet<string>, knownAuthor: (nodeId: string) => boolean): void {
  const own = cs.nodes.indexOf(ownNodeId);
  const known = cs.nodes.map((n) => knownAuthor(n));
  const check = (hlc: number, node: number) => {
    if (node === own) throw new BatteryError('AUTH', `unsigned change under our own node id ${ownNodeId}: only a signed set of ours may carry it`);
    if (signers.has(cs.nodes[node]!)) throw new BatteryError('AUTH', `unsigned change under node ${cs.nodes[node]}, which signs its changes`);
    if (known[node]) throw new BatteryError('AUTH', `unsigned change under node ${cs.nodes[node]}, known here to sign its changes`);
    if (hlc >= LEGACY_HORIZON_HLC) throw new BatteryError('AUTH', `unsigned change of node ${cs.nodes[node]} stamped after the legacy horizon: changes made since must be signed by their author`);
  };
  for (const t of cs.tables) {
    for (const r of t.rows) {
      if (r.put) check(r.put[0], r.put[1]);
      if (r.del) check(r.del[0], r.del[1]);
      for (const c of r.cells) check(c[2], c[3]);
    }
  }
}

/**
 * Checks a received batch before anything of it is applied: every body's signature (its author
 * is its only node and its stamp its only stamp) and the legacy rule for the unsigned part
 * (`knownAuthor`: the receiving replica's isKnownAuthor, asked once the signatures are checked).
 * Throws AUTH (or BAD_OP) on the first failure; the caller applies nothing then.
 */
export async function openBatch(batch: AuthoredBatch, ownNodeId: string, knownAuthor: (nodeId: string) => boolean): Promise<OpenedBatch> {
  const verified = await Promise.all(batch.signed.map((body) => verifyChangeSet(body)));
  assertUnsignedAllowed(batch.changes, ownNodeId, new Set(verified.map((v) => v.author)), knownAuthor);
  const parts = isEmptyChangeSet(batch.changes) ? [] : [batch.changes];
  for (const v of verified) parts.push(v.changes);
  return {
    changes: parts.length === 0 ? EMPTY_CHANGE_SET : mergeChangeSets(parts),
    signed: verified.map((v) => ({ node: v.author, hlc: v.hlc, body: v.body })),
    links: verified.map((v) => ({ author: v.author, hlc: v.hlc, prev: v.prev, parts: v.parts })),
    sets: verified.map((v) => v.changes),
    legacy: batch.changes,
  };
}
