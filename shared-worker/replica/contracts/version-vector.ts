/**
 * A version vector: for each origin node id, the highest hlc of that node's changes this replica
 * holds (or holds something newer for). Deltas for a peer are the registers whose stamp is above
 * the peer's entry for their origin.
 */
export type VersionVector = Record<string, number>;

/**
 * A vector's entry for `node`, undefined when it has none. Own keys only: a node id such as
 * `constructor` or `toString` must not read Object.prototype's function instead (it compares as
 * NaN, so a vector would "cover" any stamp of that node, and merges would skip it).
 */
export function entryOf(v: VersionVector, node: string): number | undefined {
  return Object.hasOwn(v, node) ? v[node] : undefined;
}

/** Entry-wise maximum of two vectors (a new object). */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out: VersionVector = { ...a };
  for (const [node, hlc] of Object.entries(b)) {
    const have = entryOf(out, node);
    if (have === undefined || have < hlc) out[node] = hlc;
  }
  return out;
}

/** True when `have` holds everything `need` describes (have[n] >= need[n] for every n). */
export function covers(have: VersionVector, need: VersionVector): boolean {
  for (const [node, hlc] of Object.entries(need)) {
    if ((entryOf(have, node) ?? 0) < hlc) return false;
  }
  return true;
}

/** The entries of `need` that `have` lacks, or null when `have` covers `need`. */
export function missingFrom(have: VersionVector, need: VersionVector): VersionVector | null {
  let out: VersionVector | null = null;
  for (const [node, hlc] of Object.entries(need)) {
    if ((entryOf(have, node) ?? 0) < hlc) (out ??= {})[node] = hlc;
  }
  return out;
}

export function vectorsEqual(a: VersionVector, b: VersionVector): boolean {
  return covers(a, b) && covers(b, a);
}
