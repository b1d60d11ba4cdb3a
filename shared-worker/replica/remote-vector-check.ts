/** A version vector from a peer is remote input too: plain object of node id -> hlc. */
import { BatteryError } from '../protocol/errors.js';
import { isValidHlc } from './hlc.js';
import { isNodeId } from '../protocol/ids.js';
import { MAX_VECTOR_ENTRIES } from '../protocol/limits.js';
import type { VersionVector } from './contracts/version-vector.js';


export function checkVector(v: unknown): asserts v is VersionVector {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BatteryError('BAD_OP', 'a version vector must be an object');
  const entries = Object.entries(v);
  if (entries.length > MAX_VECTOR_ENTRIES) throw new BatteryError('BAD_OP', `a version vector may hold at most ${MAX_VECTOR_ENTRIES} entries`);
  for (const [node, hlc] of entries) {
    if (!isNodeId(node) || !isValidHlc(hlc)) throw new BatteryError('BAD_OP', 'a version vector maps node ids to non-negative safe integers');
  }
}
