/**
 * Every failure the library reports carries one of these codes, so callers can switch on
 * `err.code` instead of parsing messages. The same codes travel tab↔worker↔peer.
 */
export type ErrorCode =
  | 'AUTH' // a peer failed the room challenge, or a frame failed authentication
  | 'SCHEMA' // a synced table's definition differs between peers, or a table cannot be synced
  | 'SKEW' // a remote stamp is further ahead of local time than maxClockDriftMs
  | 'BAD_OP' // malformed or hostile remote input, or a request the replica refuses
  | 'QUOTA' // storage is full: the write was not made durable and not acknowledged
  | 'VERSION' // tab and worker (or two peers) speak incompatible protocol versions
  | 'WORKER' // the worker died, a request timed out, or the handle is closed
  | 'SIGNALING' // the PeerServer refused us or cannot be reached
  | 'SQL' // the user's SQL failed (syntax, constraint, wrong parameters)
  | 'CLOSED'; // the database was closed while the call was pending

const ERROR_CODES: readonly ErrorCode[] = [
  'AUTH', 'SCHEMA', 'SKEW', 'BAD_OP', 'QUOTA', 'VERSION', 'WORKER', 'SIGNALING', 'SQL', 'CLOSED',
];

export class BatteryError extends Error {
  readonly code: ErrorCode;
  /** Optional machine-readable detail (table name, peer id, limit that was hit, ...). */
  readonly detail?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'BatteryError';
    this.code = code;
    if (detail !== undefined) this.detail = detail;
  }
}

export function isBatteryError(e: unknown): e is BatteryError {
  return e instanceof BatteryError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'BatteryError');
}

/** Plain-object form for postMessage / the wire (Error instances don't survive structured clone intact). */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  detail?: Record<string, unknown>;
}

export function serializeError(e: unknown): SerializedError {
  if (isBatteryError(e)) return { code: e.code, message: e.message, ...(e.detail ? { detail: e.detail } : {}) };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'SQL', message };
}

export function deserializeError(s: SerializedError): BatteryError {
  const code = ERROR_CODES.includes(s.code) ? s.code : 'WORKER';
  return new BatteryError(code, s.message, s.detail);
}
