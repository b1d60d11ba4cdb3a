/**
 * How far a batch may raise our version-vector entries (docs/security.md, "Withheld sets").
 *
 * vector[A] means "we hold every change of A up to here": the next hello asks only for A's
 * changes above it. Any member receives A's genuine signed sets, so a member that forwards only
 * A's newest set would make us skip A's earlier ones if the entry rose to any stamp we applied.
 * So an entry rises from A's sets only along an unbroken chain: a set whose signed `prev` our
 * entry already covers, taken in stamp order, so consecutive sets of one message advance
 * together. A stamp cut into several sets advances it only once every one of its parts has been
 * seen (PartsTally): any of them may be withheld. A link's peer id proves room membership, not
 * the node id, so sets "sent by A itself" get no other rule; A's own sets always link (its live
 * batch names the entry it was made on, its delta the entry we asked from).
 * Registers above the ceiling are still applied (LWW makes that safe); only the entry stays, so
 * the next delta brings A's changes above it again: a resend, never a loss. Unsigned (legacy)
 * changes carry no chain and raise their nodes' entries as before.
 */
import { Decoder } from '@msgpack/msgpack';
import type { VersionVector } from '../replica/contracts/version-vector.js';
import { entryOf } from '../replica/contracts/version-vector.js';
import type { ChainLink } from './authored-batch.js';

/**
 * The parts of cut stamps seen so far (by a session or a mailbox reader): a stamp cut into n parts
 * is whole once n different parts of one cut (same stamp, prev and parts) were seen, over any
 * number of messages. A part is told apart by its signed payload, never by its signature: ECDSA
 * signatures are randomized (an author that signs a part again makes other bytes) and malleable
 * ((r, s) and (r, n - s) both verify, so anyone holding one part can mint more of it). Bounded:
 * past LIMIT stamps or ID_LIMIT parts it starts over, which only delays an entry (a resend, never
 * a loss).
 */
export class PartsTally {
  private readonly seen = new Map<string, Set<string>>();
  private ids = 0;
  private static readonly LIMIT = 4_096;
  private static readonly ID_LIMIT = 65_536;

  /** Records the sets of `links` (bodies[i] is links[i]'s) that belong to a stamp of several parts. */
  note(links: readonly ChainLink[], bodies: readonly Uint8Array[]): void {
    links.forEach((l, i) => {
      if (l.parts === 1) return;
      const key = cutKey(l);
      let parts = this.seen.get(key);
      if (!parts) {
        if (this.seen.size >= PartsTally.LIMIT) this.clear();
        this.seen.set(key, (parts = new Set()));
      }
      const id = payloadDigest(bodies[i]!);
      if (parts.has(id)) return;
      if (this.ids >= PartsTally.ID_LIMIT) {
        this.clear();
        this.seen.set(key, (parts = new Set()));
      }
      parts.add(id);
      this.ids++;
    });
  }

  whole(l: ChainLink): boolean {
    return l.parts === 1 || (this.seen.get(cutKey(l))?.size ?? 0) >= l.parts;
  }

  private clear(): void {
    this.seen.clear();
    this.ids = 0;
  }
}

/** One cut of a stamp: its parts share the author, stamp, prev and parts count. */
const cutKey = (l: ChainLink): string => `${l.author}:${l.hlc}:${l.prev}:${l.parts}`;

const outer = new Decoder();

/**
 * 64 bits of FNV-1a (two 32-bit lanes) over a verified body's signed payload. A collision can only
 * merge two parts (the stamp then stays unwhole: a resend); identical payloads always match.
 */
function payloadDigest(body: Uint8Array): string {
  const [payload] = outer.decode(body) as [Uint8Array];
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ payload.length;
  for (let i = 0; i < payload.length; i++) {
    a = Math.imul(a ^ payload[i]!, 0x01000193);
    b = Math.imul(b ^ payload[i]!, 0x5bd1e995) ^ (b >>> 15);
  }
  return `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}.${payload.length}`;
}

/**
 * Per author of a signed set in `links`: the highest stamp our entry may rise to, starting from `vector` (ours, trusted). Authors absent from the result are not limited.
 * `tally` says which cut stamps are whole (none without it).
 */
export function vectorCeiling(links: readonly ChainLink[], vector: VersionVector, tally?: PartsTally): VersionVector {
  const byAuthor = new Map<string, ChainLink[]>();
  for (const l of links) {
    let list = byAuthor.get(l.author);
    if (!list) byAuthor.set(l.author, (list = []));
    list.push(l);
  }
  const ceiling: VersionVector = {};
  for (const [author, list] of byAuthor) {
    list.sort((a, b) => a.hlc - b.hlc);
    let reached = entryOf(vector, author) ?? 0;
    // Sets of one stamp may come from several cuts (a live batch and a delta sign it apart): the
    // stamp advances the chain when any one cut of it links to `reached` and is whole.
    for (let i = 0; i < list.length; ) {
      const hlc = list[i]!.hlc;
      let linked = false;
      for (; i < list.length && list[i]!.hlc === hlc; i++) {
        const l = list[i]!;
        if (l.prev !== null && l.prev <= reached && (tally ? tally.whole(l) : l.parts === 1)) linked = true;
      }
      if (hlc <= reached) continue;
      if (!linked) break;
      reached = hlc;
    }
    ceiling[author] = reached;
  }
  return ceiling;
}

/** `v` with each entry no higher than `ceiling`'s for the same node. */
export function capVector(v: VersionVector, ceiling: VersionVector): VersionVector {
  const out: VersionVector = {};
  for (const [node, hlc] of Object.entries(v)) {
    const cap = entryOf(ceiling, node);
    out[node] = cap === undefined ? hlc : Math.min(hlc, cap);
  }
  return out;
}
