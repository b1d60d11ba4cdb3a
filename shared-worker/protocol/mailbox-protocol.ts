/**
 * The client↔mailbox wire: one binary WebSocket message = one msgpack map tagged by `t`.
 * Shared by the worker's mailbox client and the server (peer-server/mailbox/), so both validate
 * the same shapes at the boundary and switch on the same tags. Everything the server learns is
 * here: a mailbox key (whose SHA-256 is the mailbox id), sealed blobs, their sizes and
 * positions. See docs/mailbox.md for the security model.
 *
 * Sequence numbers are dense per mailbox and chosen by the appender (`seq` must be head + 1,
 * otherwise `conflict`), because the client seals each blob with its position in the associated
 * data before it uploads it: a blob moved to another position or mailbox no longer opens.
 */
import { decode, encode } from '@msgpack/msgpack';

export const MAILBOX_PROTOCOL_VERSION = 1;
/** The mailbox key: 32 random-looking bytes derived from the room token. */
const MAILBOX_KEY_BYTES = 32;
/** Most blobs one `read` answer carries; the client pages with `after`. */
export const MAX_READ_ITEMS = 512;
/** Largest snapshot range one `get-snapshot` answer carries. */
export const MAX_SNAPSHOT_CHUNK = 1024 * 1024;

export type MailboxErrorCode =
  | 'bad-request' // malformed or out-of-order request; nothing was touched
  | 'version' // unsupported protocol version
  | 'conflict' // append/snapshot at a position that is not the next one (see `head`)
  | 'too-large' // blob or snapshot over the server's cap
  | 'quota' // the mailbox's byte quota would be exceeded
  | 'rate' // this address sent too many requests; retry after `retryAfterMs`
  | 'unavailable'; // the store failed (nothing was acknowledged)

export interface SnapshotInfo {
  /** The snapshot replaces every blob with seq <= covers. */
  covers: number;
  size: number;
}

interface ServerLimits {
  maxBlobBytes: number;
  maxSnapshotBytes: number;
  quotaBytes: number;
}

export type MailboxRequest =
  | { t: 'hello'; id: number; v: number; key: Uint8Array }
  | { t: 'append'; id: number; seq: number; blob: Uint8Array }
  | { t: 'read'; id: number; after: number; limit: number }
  | { t: 'subscribe'; id: number; after: number }
  | { t: 'put-snapshot'; id: number; covers: number; blob: Uint8Array }
  /** A byte range of the current snapshot; its `covers` in the answer tells a resuming client whether it changed. */
  | { t: 'get-snapshot'; id: number; offset: number; length: number };

export interface StoredBlob {
  seq: number;
  blob: Uint8Array;
}

export type MailboxReply =
  | { t: 'welcome'; id: number; head: number; bytes: number; snapshot: SnapshotInfo | null; limits: ServerLimits }
  | { t: 'ack'; id: number; seq: number }
  | { t: 'blobs'; id: number; items: StoredBlob[]; head: number }
  | { t: 'subscribed'; id: number; head: number }
  | { t: 'push'; seq: number; blob: Uint8Array }
  | { t: 'snapshot-chunk'; id: number; covers: number; offset: number; total: number; bytes: Uint8Array }
  | { t: 'error'; id: number; code: MailboxErrorCode; message: string; head?: number; retryAfterMs?: number };

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export function encodeMailboxMessage(message: MailboxRequest | MailboxReply): Uint8Array {
  return encode(message);
}

const ERROR_CODES: readonly MailboxErrorCode[] = ['bad-request', 'version', 'conflict', 'too-large', 'quota', 'rate', 'unavailable'];

/** Request ids, sequence numbers, offsets: non-negative safe integers. */
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function decodeMap(data: Uint8Array): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = decode(data);
  } catch (err) {
    return `not msgpack: ${(err as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isBytes(value)) return 'a message must be a msgpack map';
  return value as Record<string, unknown>;
}

function fail<T>(message: string): Parsed<T> {
  return { ok: false, message };
}

/** Validates a client request; extra fields are dropped, never trusted. */
export function parseMailboxRequest(data: Uint8Array): Parsed<MailboxRequest> {
  const m = decodeMap(data);
  if (typeof m === 'string') return fail(m);
  const t = m.t;
  if (!isCount(m.id)) return fail('id must be a non-negative integer');
  const id = m.id;
  switch (t) {
    case 'hello':
      if (!isCount(m.v)) return fail('hello.v must be an integer');
      if (!isBytes(m.key) || m.key.length !== MAILBOX_KEY_BYTES) return fail(`hello.key must be ${MAILBOX_KEY_BYTES} bytes`);
      return { ok: true, value: { t, id, v: m.v, key: m.key } };
    case 'append':
      if (!isCount(m.seq) || m.seq < 1) return fail('append.seq must be a positive integer');
      if (!isBytes(m.blob) || m.blob.length === 0) return fail('append.blob must be non-empty bytes');
      return { ok: true, value: { t, id, seq: m.seq, blob: m.blob } };
    case 'read':
      if (!isCount(m.after)) return fail('read.after must be a non-negative integer');
      if (!isCount(m.limit) || m.limit < 1 || m.limit > MAX_READ_ITEMS) return fail(`read.limit must be 1..${MAX_READ_ITEMS}`);
      return { ok: true, value: { t, id, after: m.after, limit: m.limit } };
    case 'subscribe':
      if (!isCount(m.after)) return fail('subscribe.after must be a non-negative integer');
      return { ok: true, value: { t, id, after: m.after } };
    case 'put-snapshot':
      if (!isCount(m.covers) || m.covers < 1) return fail('put-snapshot.covers must be a positive integer');
      if (!isBytes(m.blob) || m.blob.length === 0) return fail('put-snapshot.blob must be non-empty bytes');
      return { ok: true, value: { t, id, covers: m.covers, blob: m.blob } };
    case 'get-snapshot':
      if (!isCount(m.offset)) return fail('get-snapshot.offset must be a non-negative integer');
      if (!isCount(m.length) || m.length < 1 || m.length > MAX_SNAPSHOT_CHUNK) return fail(`get-snapshot.length must be 1..${MAX_SNAPSHOT_CHUNK}`);
      return { ok: true, value: { t, id, offset: m.offset, length: m.length } };
    default:
      return fail(`unknown request type ${JSON.stringify(typeof t === 'string' ? t.slice(0, 40) : typeof t)}`);
  }
}

function isSnapshotInfo(v: unknown): v is SnapshotInfo {
  const s = v as SnapshotInfo;
  return typeof v === 'object' && v !== null && isCount(s.covers) && isCount(s.size);
}

function isLimits(v: unknown): v is ServerLimits {
  const l = v as ServerLimits;
  return typeof v === 'object' && v !== null && isCount(l.maxBlobBytes) && isCount(l.maxSnapshotBytes) && isCount(l.quotaBytes);
}

function isStoredBlob(v: unknown): v is StoredBlob {
  const b = v as StoredBlob;
  return typeof v === 'object' && v !== null && isCount(b.seq) && isBytes(b.blob);
}

/** Validates a server reply: the client trusts the server with availability, not with shapes. */
export function parseMailboxReply(data: Uint8Array): Parsed<MailboxReply> {
  const m = decodeMap(data);
  if (typeof m === 'string') return fail(m);
  const t = m.t;
  if (t === 'push') {
    if (!isCount(m.seq) || !isBytes(m.blob)) return fail('push needs seq and blob');
    return { ok: true, value: { t, seq: m.seq, blob: m.blob } };
  }
  if (!isCount(m.id)) return fail('id must be a non-negative integer');
  const id = m.id;
  switch (t) {
    case 'welcome':
      if (!isCount(m.head) || !isCount(m.bytes) || !isLimits(m.limits)) return fail('welcome needs head, bytes and limits');
      if (m.snapshot !== null && !isSnapshotInfo(m.snapshot)) return fail('welcome.snapshot must be null or {covers, size}');
      return {
        ok: true,
        value: { t, id, head: m.head, bytes: m.bytes, snapshot: m.snapshot === null ? null : { covers: m.snapshot.covers, size: m.snapshot.size }, limits: { maxBlobBytes: m.limits.maxBlobBytes, maxSnapshotBytes: m.limits.maxSnapshotBytes, quotaBytes: m.limits.quotaBytes } },
      };
    case 'ack':
      if (!isCount(m.seq)) return fail('ack.seq must be an integer');
      return { ok: true, value: { t, id, seq: m.seq } };
    case 'blobs':
      if (!isCount(m.head) || !Array.isArray(m.items) || !m.items.every(isStoredBlob)) return fail('blobs needs head and items');
      return { ok: true, value: { t, id, head: m.head, items: m.items.map((b) => ({ seq: b.seq, blob: b.blob })) } };
    case 'subscribed':
      if (!isCount(m.head)) return fail('subscribed.head must be an integer');
      return { ok: true, value: { t, id, head: m.head } };
    case 'snapshot-chunk':
      if (!isCount(m.covers) || !isCount(m.offset) || !isCount(m.total) || !isBytes(m.bytes)) return fail('snapshot-chunk needs covers, offset, total, bytes');
      return { ok: true, value: { t, id, covers: m.covers, offset: m.offset, total: m.total, bytes: m.bytes } };
    case 'error': {
      const code = m.code as MailboxErrorCode;
      if (!ERROR_CODES.includes(code) || typeof m.message !== 'string') return fail('error needs a known code and a message');
      const reply: MailboxReply = { t, id, code, message: m.message.slice(0, 500) };
      if (isCount(m.head)) reply.head = m.head;
      if (isCount(m.retryAfterMs)) reply.retryAfterMs = m.retryAfterMs;
      return { ok: true, value: reply };
    }
    default:
      return fail(`unknown reply type ${JSON.stringify(typeof t === 'string' ? t.slice(0, 40) : typeof t)}`);
  }
}
