/**
 * A version vector: for each origin node id, the highest hlc of that node's changes this replica
 * holds (or holds something newer for). Deltas for a peer are the registers whose stamp is above
 * the peer's entry for their origin.
 */
import { BatteryError } from '../../protocol/errors.js';
import { isNodeId } from '../../protocol/ids.js';
import { MAX_VECTOR_ENTRIES } from '../../protocol/limits.js';
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

/**
 * The one check a version vector from outside passes (a peer's hello, delta, live batch, need or
 * ack; a mailbox blob; a caller of changesSince): a plain map of node ids (protocol/ids.ts) to
 * non-negative safe-integer hlcs, at most MAX_VECTOR_ENTRIES of them. Returns a fresh copy, so
 * nothing of the caller's object (its prototype included) is kept.
 */
export function validateVector(v: unknown, what = 'a version vector'): VersionVector {
  const bad = (message: string): never => {
    throw new BatteryError('BAD_OP', `${what} ${message}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) bad('must be a map of node ids to hlcs');
  const keys = Object.keys(v as object);
  if (keys.length > MAX_VECTOR_ENTRIES) bad(`has more than ${MAX_VECTOR_ENTRIES} entries`);
  const out: VersionVector = {};
  for (const k of keys) {
    if (!isNodeId(k)) bad(`has a key that is not a node id (16 lowercase hex chars)`);
    const hlc = (v as Record<string, unknown>)[k];
    if (typeof hlc !== 'number' || !Number.isSafeInteger(hlc) || hlc < 0) bad(`maps ${k} to something other than a non-negative safe integer`);
    out[k] = hlc as number;
  }
  return out;
}
