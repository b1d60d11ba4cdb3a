import { jsonDepthExceeds } from './json-depth.js';

/**
 * The client↔server signaling protocol, as npm `peer` 1.0.2 and the PeerJS 1.5.5 client speak
 * it: JSON text frames over `<path>peerjs?key=<key>&id=<id>&token=<token>`. The server answers a
 * registration with OPEN (or ERROR / ID-TAKEN and a close) and relays OFFER, ANSWER and CANDIDATE
 * to `dst`, stamping `src` itself. Clients send HEARTBEAT every 5 s (server drops them after 90 s
 * of silence). Payloads are the clients' business (SDP, ICE candidates) and are never inspected.
 */

type RelayedType = 'OFFER' | 'ANSWER' | 'CANDIDATE' | 'LEAVE';

export type ClientMessage =
  | { type: 'HEARTBEAT' }
  | { type: RelayedType; dst: string };

type ServerMessage =
  | { type: 'OPEN' }
  | { type: 'ERROR'; payload: { msg: string } }
  | { type: 'ID-TAKEN'; payload: { msg: string } }
  | { type: RelayedType | 'EXPIRE'; src: string; dst: string; payload?: unknown };

/**
 * Deepest nesting relayed, counting the message object itself. What PeerJS 1.5.5 sends nests 3
 * deep (an OFFER's `payload.sdp`, a CANDIDATE's `payload.candidate`); rtc-battery sets no
 * connection metadata. 16 leaves room for other clients while staying far below where `peer`'s
 * relay breaks (see json-depth.ts).
 */
export const MAX_MESSAGE_DEPTH = 16;

const RELAYED: ReadonlySet<string> = new Set<RelayedType>(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);

/**
 * What the server is willing to relay: a text frame holding a JSON object with a known `type`,
 * and for relayed types a string `dst`, nested at most MAX_MESSAGE_DEPTH deep. Anything else is null. (PeerJS 1.5.5 never sends LEAVE,
 * older clients do; a LEAVE without `dst` would make `peer` drop the sender from its realm while
 * its socket stays open, so it is not accepted.)
 */
export function parseClientMessage(data: unknown, isBinary: boolean): ClientMessage | null {
  if (isBinary) return null;
  let value: unknown;
  try {
    value = JSON.parse(textOf(data));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  if (jsonDepthExceeds(value, MAX_MESSAGE_DEPTH)) return null;
  const { type, dst } = value as { type?: unknown; dst?: unknown };
  if (type === 'HEARTBEAT') return { type };
  if (typeof type === 'string' && RELAYED.has(type) && typeof dst === 'string') {
    return { type: type as RelayedType, dst };
  }
  return null;
}

export function idTakenMessage(msg: string): string {
  return JSON.stringify({ type: 'ID-TAKEN', payload: { msg } } satisfies ServerMessage);
}

export function errorMessage(msg: string): string {
  return JSON.stringify({ type: 'ERROR', payload: { msg } } satisfies ServerMessage);
}

function textOf(data: unknown): string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  return '';
}
