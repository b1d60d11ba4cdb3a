/**
 * The options of connectBattery(), their defaults, and their validation: a wrong type is a
 * BatteryError('BAD_OP') naming the option, raised before anything is opened.
 */
import { isAcceptableClockDrift, MAX_CLOCK_DRIFT_MS } from '../shared-worker/protocol/clock-drift.js';
import { migrationSql, type MigrationStep } from '../shared-worker/protocol/migrations.js';
import { BatteryError } from '../shared-worker/protocol/errors.js';
import { estimateTokenBits, isStrongToken, MIN_TOKEN_BITS } from '../shared-worker/protocol/token-strength.js';
import type { Durability, RTCIceServerInit } from '../shared-worker/protocol/worker-protocol.js';
import type { MeshDriverFactory } from './mesh-driver.js';
import { consoleDiagnostics, type DiagnosticSink } from './diagnostics.js';

export type BatteryMode = 'auto' | 'shared' | 'dedicated';

export interface BatteryOptions {
  /** One replica (and one IndexedDB database) per dbName. Default 'ledger-default'. */
  dbName?: string;
  /** The PeerServer: http(s):// or ws(s)://host:port/path. Used by connect() without a url. */
  signalingUrl?: string;
  /**
   * The room secret; it never leaves the browser (docs/security.md). It must be strong: at least
   * 128 bits by the rule in docs/security.md (e.g. 22 random base64url or 32 random hex characters).
   */
  token?: string;
  /** Accept a token below that strength (tests, a token the user types on purpose). Default false. */
  allowWeakToken?: boolean;
  iceServers?: RTCIceServerInit[];
  /**
   * Sync through the signaling host's end-to-end encrypted mailbox when it offers one, so
   * peers that are never online together still sync (README "Mailbox"). Default true.
   */
  mailbox?: boolean;
  /** Default: battery-worker.js next to this bundle. */
  workerUrl?: string | URL;
  /** Default: sql-wasm.wasm next to this bundle. */
  wasmUrl?: string | URL;
  /** 'auto' (default): a SharedWorker where the browser has one, else 'dedicated'. */
  mode?: BatteryMode;
  /**
   * The IndexedDB durability hint. Either way a write resolves only after its IndexedDB
   * transaction completed. 'strict' (default): the browser flushes to disk first, so it also
   * survives an OS crash or power loss. 'relaxed': complete once the OS has the data.
   */
  durability?: Durability;
  /**
   * Refuse peer changes stamped further ahead of local time (default: the replica's, 5 min).
   * At most 24 h (`MAX_CLOCK_DRIFT_MS`); Infinity, NaN, 0 and negatives are refused.
   */
  maxClockDriftMs?: number;
  /** Per request; a request still unanswered then rejects with 'WORKER'. Default 30 000. */
  requestTimeoutMs?: number;
  /** Ordered schema steps, applied once per replica (README "Migrations"). */
  migrations?: MigrationStep[];
  /**
   * Diagnostics of the mesh (signaling, links), sync (peers, deltas, errors), persistence
   * (start-up repairs, open failures) and the worker. Off by default; `true` writes them to
   * console.debug, a function receives each one.
   */
  debug?: boolean | DiagnosticSink;
  /** @internal The leader tab's PeerJS driver (tests swap it). */
  meshDriver?: MeshDriverFactory;
}

/**
 * Every option connectBattery knows. A key of BatteryOptions missing here fails to compile, and a
 * key of the caller's object missing here is refused by name (a typo must not open 'ledger-default').
 */
const KNOWN_OPTIONS: Record<keyof BatteryOptions, true> = {
  dbName: true, signalingUrl: true, token: true, iceServers: true, workerUrl: true, wasmUrl: true,
  mode: true, durability: true, maxClockDriftMs: true, requestTimeoutMs: true, debug: true, meshDriver: true,
  mailbox: true, allowWeakToken: true, migrations: true,
};

export interface ResolvedOptions {
  dbName: string;
  signalingUrl?: string;
  token?: string;
  allowWeakToken: boolean;
  iceServers?: RTCIceServerInit[];
  mailbox?: boolean;
  workerUrl: string;
  wasmUrl: string;
  mode: BatteryMode;
  durability: Durability;
  maxClockDriftMs?: number;
  requestTimeoutMs: number;
  /** Absent when diagnostics are off. */
  diagnostics?: DiagnosticSink;
  meshDriver?: MeshDriverFactory;
  migrations?: string[];
}

export const DEFAULT_DB_NAME = 'ledger-default';
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

function bad(option: string, expected: string, value: unknown): BatteryError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  return new BatteryError('BAD_OP', `connectBattery: option "${option}" must be ${expected} (got ${shown})`, { option });
}

function optString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(key, 'a string', v);
  return v;
}

function optUrl(o: Record<string, unknown>, key: string, fallback: () => string): string {
  const v = o[key];
  if (v === undefined) return fallback();
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof URL !== 'undefined' && v instanceof URL) return v.href;
  throw bad(key, 'a URL or a non-empty string', v);
}

function optPositive(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(key, 'a positive finite number', v);
  return v;
}

function optBoolean(o: Record<string, unknown>, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(key, 'a boolean', v);
  return v;
}

/** Refuses a token below MIN_TOKEN_BITS unless the caller opted in; the message never shows the token. */
export function requireStrongToken(token: string, allowWeakToken: boolean): void {
  if (allowWeakToken || isStrongToken(token)) return;
  throw new BatteryError(
    'BAD_OP',
    `the room token is too weak to keep the room private: about ${Math.floor(estimateTokenBits(token))} bits, ` +
      `at least ${MIN_TOKEN_BITS} needed (e.g. 22 random base64url or 32 random hex characters); ` +
      'pass allowWeakToken: true to use it anyway',
    { option: 'token', bits: Math.floor(estimateTokenBits(token)) },
  );
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T): T {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw bad(key, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  return v as T;
}

function iceServers(o: Record<string, unknown>): RTCIceServerInit[] | undefined {
  const v = o.iceServers;
  if (v === undefined) return undefined;
  const valid = Array.isArray(v) && v.every((s) => typeof s === 'object' && s !== null
    && (typeof s.urls === 'string' || (Array.isArray(s.urls) && s.urls.every((u: unknown) => typeof u === 'string'))));
  if (!valid) throw bad('iceServers', 'an array of {urls: string | string[]}', v);
  return (v as RTCIceServerInit[]).map((s) => ({
    urls: s.urls,
    ...(typeof s.username === 'string' ? { username: s.username } : {}),
    ...(typeof s.credential === 'string' ? { credential: s.credential } : {}),
  }));
}

function debugSink(v: unknown): DiagnosticSink | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return consoleDiagnostics;
  if (typeof v === 'function') return v as DiagnosticSink;
  throw bad('debug', 'a boolean or a function', v);
}

export function resolveOptions(input: unknown, defaults: { workerUrl: () => string; wasmUrl: () => string }): ResolvedOptions {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw bad('options', 'an object', input);
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!Object.hasOwn(KNOWN_OPTIONS, key)) {
      throw new BatteryError('BAD_OP', `connectBattery: unknown option "${key.slice(0, 60)}" (known: ${Object.keys(KNOWN_OPTIONS).filter((k) => k !== 'meshDriver').join(', ')})`, { option: key });
    }
  }
  const dbName = optString(o, 'dbName') ?? DEFAULT_DB_NAME;
  if (dbName.length === 0 || dbName.length > 200) throw bad('dbName', 'a string of 1 to 200 characters', dbName);
  const meshDriver = o.meshDriver;
  if (meshDriver !== undefined && typeof meshDriver !== 'function') throw bad('meshDriver', 'a function', meshDriver);
  const out: ResolvedOptions = {
    dbName,
    workerUrl: optUrl(o, 'workerUrl', defaults.workerUrl),
    wasmUrl: optUrl(o, 'wasmUrl', defaults.wasmUrl),
    mode: oneOf(o, 'mode', ['auto', 'shared', 'dedicated'] as const, 'auto'),
    durability: oneOf(o, 'durability', ['strict', 'relaxed'] as const, 'strict'),
    requestTimeoutMs: optPositive(o, 'requestTimeoutMs') ?? DEFAULT_REQUEST_TIMEOUT_MS,
    allowWeakToken: optBoolean(o, 'allowWeakToken') ?? false,
  };
  const signalingUrl = optString(o, 'signalingUrl');
  const token = optString(o, 'token');
  const ice = iceServers(o);
  const drift = o.maxClockDriftMs;
  if (drift !== undefined && !isAcceptableClockDrift(drift)) {
    throw bad('maxClockDriftMs', `a number of ms above 0 and at most ${MAX_CLOCK_DRIFT_MS} (24 h)`, drift);
  }
  if (signalingUrl !== undefined) out.signalingUrl = signalingUrl;
  if (token !== undefined) {
    requireStrongToken(token, out.allowWeakToken);
    out.token = token;
  }
  if (ice !== undefined) out.iceServers = ice;
  if (o.mailbox !== undefined) {
    if (typeof o.mailbox !== 'boolean') throw bad('mailbox', 'a boolean', o.mailbox);
    out.mailbox = o.mailbox;
  }
  if (drift !== undefined) out.maxClockDriftMs = drift;
  if (meshDriver !== undefined) out.meshDriver = meshDriver as MeshDriverFactory;
  if (o.migrations !== undefined) out.migrations = migrationSql(o.migrations, 'connectBattery: option "migrations"');
  const diagnostics = debugSink(o.debug);
  if (diagnostics) out.diagnostics = diagnostics;
  return out;
}
