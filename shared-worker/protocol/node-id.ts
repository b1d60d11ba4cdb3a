/** Node ids: who made a change. Ours are 16 lowercase hex chars (64 random bits), see peer-link.ts. */
import { BatteryError } from './errors.js';

/**
 * What a remote node id may look like: short and printable, so it can't bloat storage or smuggle
 * anything into messages. Our own generated ids are a subset (16 hex chars).
 */
export const NODE_ID_MAX_LENGTH = 64;
const NODE_ID_SHAPE = /^[0-9A-Za-z_.:-]+$/;

export function isWellFormedNodeId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= NODE_ID_MAX_LENGTH && NODE_ID_SHAPE.test(id);
}

export function randomNodeId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function assertNodeId(id: string): string {
  if (!isWellFormedNodeId(id)) {
    throw new BatteryError('BAD_OP', `node id must be 1-${NODE_ID_MAX_LENGTH} characters of [0-9A-Za-z_.:-]`, { nodeId: String(id).slice(0, 80) });
  }
  return id;
}
