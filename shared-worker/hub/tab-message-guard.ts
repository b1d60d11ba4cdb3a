/**
 * Boundary check for everything a tab posts to the worker. Tabs run our own bundle, but a tab
 * from an older or newer deploy, a browser extension or a bug can post anything; the hub only
 * ever sees messages that passed parseTabMessage. Failures are BatteryError('BAD_OP').
 */
import { isAcceptableClockDrift, MAX_CLOCK_DRIFT_MS } from '../protocol/clock-drift.js';
import { migrationSql } from '../protocol/migrations.js';
import { BatteryError } from '../protocol/errors.js';
import { checkParams } from '../protocol/values.js';
import type {
  Request, RTCIceServerInit, TabToWorker, LeaderToWorker, MeshStatus,
} from '../protocol/worker-protocol.js';

/** Bounds that keep one message from exhausting the worker; far above any sane use. */
export const LIMITS = {
  sqlChars: 10_000_000,
  idChars: 200,
  frameBytes: 1 << 20,
} as const;

type Obj = Record<string, unknown>;

function bad(message: string): BatteryError {
  return new BatteryError('BAD_OP', `invalid message from tab: ${message}`);
}

function obj(x: unknown, what: string): Obj {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad(`${what} must be an object`);
  return x as Obj;
}

function str(o: Obj, key: string, max: number = LIMITS.idChars): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > max) throw bad(`${key} must be a string of at most ${max} characters`);
  return v;
}

function optStr(o: Obj, key: string, max: number = LIMITS.sqlChars): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, max);
}

function int(o: Obj, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${key} must be a non-negative integer`);
  return v;
}

function checkIceServers(x: unknown): RTCIceServerInit[] | undefined {
  if (x === undefined) return undefined;
  if (!Array.isArray(x)) throw bad('iceServers must be an array');
  return x.map((s) => {
    const o = obj(s, 'ice server');
    const urls = o.urls;
    const ok = typeof urls === 'string' || (Array.isArray(urls) && urls.every((u) => typeof u === 'string'));
    if (!ok) throw bad('iceServers[].urls must be a string or string[]');
    const out: RTCIceServerInit = { urls: urls as string | string[] };
    const username = optStr(o, 'username', 1000);
    const credential = optStr(o, 'credential', 1000);
    if (username !== undefined) out.username = username;
    if (credential !== undefined) out.credential = credential;
    return out;
  });
}

function checkRequest(x: unknown): Request {
  const o = obj(x, 'req');
  switch (o.op) {
    case 'exec':
    case 'execLocal':
      return { op: o.op, sql: str(o, 'sql', LIMITS.sqlChars), params: checkParams(o.params) };
    case 'enableSync':
      return { op: 'enableSync', table: str(o, 'table') };
    case 'migrate':
      return { op: 'migrate', steps: migrationSql(o.steps, 'steps') };
    case 'watch':
      return { op: 'watch', watchId: str(o, 'watchId'), sql: str(o, 'sql', LIMITS.sqlChars), params: checkParams(o.params) };
    case 'unwatch':
      return { op: 'unwatch', watchId: str(o, 'watchId') };
    case 'connect': {
      const r: Request = { op: 'connect' };
      const signalingUrl = optStr(o, 'signalingUrl', 2000);
      const token = optStr(o, 'token', 10_000);
      const iceServers = checkIceServers(o.iceServers);
      if (signalingUrl !== undefined) r.signalingUrl = signalingUrl;
      if (token !== undefined) r.token = token;
      if (iceServers !== undefined) r.iceServers = iceServers;
      if (o.mailbox !== undefined) {
        if (typeof o.mailbox !== 'boolean') throw bad('connect.mailbox must be a boolean');
        r.mailbox = o.mailbox;
      }
      return r;
    }
    case 'disconnect':
    case 'claimLeader':
      return { op: o.op };
    default:
      throw bad(`unknown request op ${JSON.stringify(String(o.op)).slice(0, 60)}`);
  }
}

function bytes(o: Obj, key: string): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array) || v.byteLength > LIMITS.frameBytes) throw bad(`${key} must be a Uint8Array of at most ${LIMITS.frameBytes} bytes`);
  return v;
}

function checkStatus(x: unknown): MeshStatus {
  const o = obj(x, 'status');
  const states: MeshStatus['signaling'][] = ['connecting', 'open', 'reconnecting', 'closed', 'error'];
  if (!states.includes(o.signaling as MeshStatus['signaling'])) throw bad('status.signaling is not a known state');
  const out: MeshStatus = { signaling: o.signaling as MeshStatus['signaling'] };
  if (o.attempt !== undefined) out.attempt = int(o, 'attempt');
  if (o.error !== undefined) {
    const e = obj(o.error, 'status.error');
    out.error = { code: 'SIGNALING', message: str(e, 'message', 2000) };
  }
  return out;
}

function checkLeaderMessage(o: Obj): LeaderToWorker {
  const epoch = int(o, 'epoch');
  switch (o.kind) {
    case 'link-open':
      if (typeof o.initiator !== 'boolean') throw bad('initiator must be a boolean');
      return { kind: 'link-open', epoch, linkId: str(o, 'linkId'), remotePeerId: str(o, 'remotePeerId'), initiator: o.initiator };
    case 'link-frame':
      return { kind: 'link-frame', epoch, linkId: str(o, 'linkId'), bytes: bytes(o, 'bytes') };
    case 'link-drain':
      return { kind: 'link-drain', epoch, linkId: str(o, 'linkId'), consumed: int(o, 'consumed'), bufferedAmount: int(o, 'bufferedAmount') };
    case 'link-closed': {
      const reason = optStr(o, 'reason', 2000);
      return reason === undefined
        ? { kind: 'link-closed', epoch, linkId: str(o, 'linkId') }
        : { kind: 'link-closed', epoch, linkId: str(o, 'linkId'), reason };
    }
    case 'mesh-status':
      return { kind: 'mesh-status', epoch, status: checkStatus(o.status) };
    default:
      throw bad('unknown leader message');
  }
}

/** Validates a raw message from a tab; throws BatteryError('BAD_OP') describing the first problem. */
export function parseTabMessage(x: unknown): TabToWorker {
  const o = obj(x, 'message');
  switch (o.kind) {
    case 'hello': {
      // Only `v` is needed to refuse a mismatched version cleanly, so it is checked first.
      const v = int(o, 'v');
      const durability = o.durability === 'relaxed' ? 'relaxed' : 'strict';
      const drift = o.maxClockDriftMs;
      if (drift !== undefined && !isAcceptableClockDrift(drift)) throw bad(`maxClockDriftMs must be a number of ms above 0 and at most ${MAX_CLOCK_DRIFT_MS}`);
      if (o.debug !== undefined && typeof o.debug !== 'boolean') throw bad('debug must be a boolean');
      return {
        kind: 'hello', v, tabId: str(o, 'tabId'), dbName: str(o, 'dbName'), wasmUrl: str(o, 'wasmUrl', 4000),
        durability, ...(drift !== undefined ? { maxClockDriftMs: drift as number } : {}),
        ...(o.debug === true ? { debug: true } : {}),
      };
    }
    case 'request':
      return { kind: 'request', id: int(o, 'id'), req: checkRequest(o.req) };
    case 'bye':
      return { kind: 'bye' };
    case 'link-open':
    case 'link-frame':
    case 'link-drain':
    case 'link-closed':
    case 'mesh-status':
      return checkLeaderMessage(o);
    default:
      throw bad('unknown message kind');
  }
}
