/**
 * The grammar of the ids every runtime handles: room ids (what the signaling server sees), node
 * ids (who made a change) and peer ids (`<roomId>-<nodeId>`, a node's name on the signaling
 * server). One rule each, used by the page, the worker, the peer protocol and the server.
 */
import { BatteryError } from './errors.js';

export const ROOM_ID_PATTERN = /^[0-9a-f]{32}$/;
/**
 * 16 lowercase hex chars (64 random bits). Exactly what a peer id can carry, so only such nodes can
 * ever join a room; and ids like `constructor` or `__proto__` can never meet Object.prototype in a
 * vector.
 */
export const NODE_ID_PATTERN = /^[0-9a-f]{16}$/;
const PEER_ID_PATTERN = /^([0-9a-f]{32})-([0-9a-f]{16})$/;

export function isNodeId(id: unknown): id is string {
  return typeof id === 'string' && NODE_ID_PATTERN.test(id);
}

export function randomNodeId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function assertNodeId(id: string): string {
  if (!isNodeId(id)) {
    throw new BatteryError('BAD_OP', 'node id must be 16 lowercase hex characters', { nodeId: String(id).slice(0, 80) });
  }
  return id;
}

export function peerIdFor(roomId: string, nodeId: string): string {
  return `${roomId}-${nodeId}`;
}

export function parsePeerId(peerId: string): { roomId: string; nodeId: string } | null {
  const m = PEER_ID_PATTERN.exec(peerId);
  return m ? { roomId: m[1]!, nodeId: m[2]! } : null;
}
