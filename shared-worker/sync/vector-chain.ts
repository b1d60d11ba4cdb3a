/**
 * How far a batch may raise our version-vector entries (docs/security.md, "Withheld sets").
 *
 * vector[A] means "we hold every change of A up to here": the next hello asks only for A's
 * changes above it. Any member receives A's genuine signed sets, so a member that forwards only
 * A's newest set would make us skip A's earlier ones if the entry rose to any stamp we applied.
 * So an entry rises from A's sets only
 *   (a) when A itself sent them (its delta holds all its live changes above what we asked for,
 *       its live batch is applied only once we hold what it was made on), or
 *   (b) along an unbroken chain: a set whose signed `prev` our entry already covers, taken in
 *       stamp order, so consecutive sets of one message advance together. A stamp cut into
 *       several sets advances it only once every one of its parts has been seen (PartsTally):
 *       any of them may be withheld.
 * Registers above the ceiling are still applied (LWW makes that safe); only the entry stays, so
 * the next delta brings A's changes above it again: a resend, never a loss. Unsigned (legacy)
 * changes carry no chain and raise their nodes' entries as before.
 */
import type { VersionVector } from '../replica/contracts/version-vector.js';
import { entryOf } from '../replica/contracts/version-vector.js';
import type { ChainLink } from './authored-batch.js';

/**
 * The parts of cut stamps seen so far (by a session or a mailbox reader): a stamp of n parts
 * is whole once n different sets of it were seen, over any number of messages. Bounded: past
 * PARTS_TALLY_LIMIT stamps it starts over, which only delays an entry (a resend, never a loss).
 */
export class PartsTally {
  private readonly seen = new Map<string, Set<string>>();
  private static readonly LIMIT = 4_096;

  /** Records the sets of `links` (bodies[i] is links[i]'s) that belong to a stamp of several parts. */
  note(links: readonly ChainLink[], bodies: readonly Uint8Array[]): void {
    links.forEach((l, i) => {
      if (l.parts === 1) return;
      const key = `${l.author}:${l.hlc}`;
      let parts = this.seen.get(key);
      if (!parts) {
        if (this.seen.size >= PartsTally.LIMIT) this.seen.clear();
        this.seen.set(key, (parts = new Set()));
      }
      // The signature's last bytes tell the sets of one stamp apart (each is signed on its own).
      const body = bodies[i]!;
      let id = '';
      for (let j = Math.max(0, body.length - 16); j < body.length; j++) id += body[j]!.toString(16).padStart(2, '0');
      parts.add(id);
    });
  }

  whole(l: ChainLink): boolean {
    return l.parts === 1 || (this.seen.get(`${l.author}:${l.hlc}`)?.size ?? 0) >= l.parts;
  }
}

/**
 * Per author of a signed set in `links` other than `sender`: the highest stamp our entry may rise
 * to, starting from `vector` (ours, trusted). Authors absent from the result are not limited.
 * `tally` says which cut stamps are whole (none without it).
 */
export function vectorCeiling(links: readonly ChainLink[], vector: VersionVector, sender: string | null, tally?: PartsTally): VersionVector {
  const byAuthor = new Map<string, ChainLink[]>();
  for (const l of links) {
    if (l.author === sender) continue;
    let list = byAuthor.get(l.author);
    if (!list) byAuthor.set(l.author, (list = []));
    list.push(l);
  }
  const ceiling: VersionVector = {};
  for (const [author, list] of byAuthor) {
    list.sort((a, b) => a.hlc - b.hlc);
    let reached = entryOf(vector, author) ?? 0;
    for (const l of list) {
      if (l.hlc <= reached) continue;
      if (l.prev === null || l.prev > reached || !(tally ? tally.whole(l) : l.parts === 1)) break;
      reached = l.hlc;
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
