/**
 * What a mailbox blob holds and how it is sealed. Plaintext: msgpack of
 * `{ v: 3, kind, changes, signed }`: signed sets (bodies, change-set-signature.ts) as a peer
 * batch carries them, checked by the downloader before anything is applied, and the unsigned
 * legacy changes in their peer wire form (wire-changes.ts); a snapshot also carries the vector it
 * was taken at. Version 2 blobs (sets without a previous stamp) are read alike; version 1 blobs (no `signed`) are read as unsigned legacy changes. Sealed: 12-byte random nonce || AES-GCM
 * ciphertext+tag, with associated data = label || mailbox id || kind || position, so a blob the
 * server (or anyone) moves to another position, another mailbox, or from the log into the
 * snapshot slot fails to open. Opened blobs are validated exactly like peer input.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { BatteryError } from '../protocol/errors.js';
import type { ChangeSet } from '../replica/contracts/change-set.js';
import { negativeZeroCodec } from '../replica/contracts/msgpack-negative-zero.js';
import { validateVector, type VersionVector } from '../replica/contracts/version-vector.js';
import type { MailboxKeys } from './mailbox-keys.js';
import { checkMsgpackShape } from './msgpack-guard.js';
import { validateChangeSet } from './peer-protocol.js';
import { fromWire, toWire } from './wire-changes.js';

/** 3: signed sets name their author's previous stamp (change-set-signature.ts); older readers refuse the blob instead of taking its sets for forgeries. */
const MAILBOX_BLOB_VERSION = 3;
/** Blobs whose signed sets are version 1 (no previous stamp): read the same way, the sets never advance a chain. */
const SIGNED_V1_BLOB_VERSION = 2;
/** Blobs uploaded by builds without keys: everything in them is unsigned (the legacy rule applies). */
const LEGACY_BLOB_VERSION = 1;
const NONCE_BYTES = 12;
const AAD_LABEL = new TextEncoder().encode('rtc-battery/mailbox-blob/v1');

export type BlobKind = 'changes' | 'snapshot';

export type MailboxContent =
  /**
   * `upTo` is set on the last blob of one upload: after it, the mailbox holds every change up
   * to that vector (the uploader sent all it had above what the mailbox held). Earlier pieces
   * carry null, so a reader never credits the mailbox with an upload that stopped half way.
   */
  | { kind: 'changes'; changes: ChangeSet; signed: Uint8Array[]; upTo: VersionVector | null }
  /** The room's whole state at `vector`: replaces every blob up to the position it is stored at. */
  | { kind: 'snapshot'; changes: ChangeSet; signed: Uint8Array[]; vector: VersionVector };

const encoder = new Encoder({ extensionCodec: negativeZeroCodec });
// A blob is at most the server's cap (1 MiB by default); decoding limits follow peer framing.
const decoder = new Decoder({ extensionCodec: negativeZeroCodec, maxStrLength: 1 << 20, maxBinLength: 1 << 20, maxArrayLength: 1 << 22, maxMapLength: 1 << 16 });

function associatedData(keys: MailboxKeys, kind: BlobKind, position: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(AAD_LABEL.length + keys.mailboxId.length + 1 + 8);
  out.set(AAD_LABEL, 0);
  out.set(keys.mailboxId, AAD_LABEL.length);
  const view = new DataView(out.buffer);
  view.setUint8(AAD_LABEL.length + keys.mailboxId.length, kind === 'changes' ? 1 : 2);
  view.setBigUint64(AAD_LABEL.length + keys.mailboxId.length + 1, BigInt(position));
  return out;
}

export function encodeContent(content: MailboxContent): Uint8Array<ArrayBuffer> {
  switch (content.kind) {
    case 'changes':
      return new Uint8Array(encoder.encode({ v: MAILBOX_BLOB_VERSION, kind: content.kind, changes: toWire(content.changes), signed: content.signed, upTo: content.upTo }));
    case 'snapshot':
      return new Uint8Array(encoder.encode({ v: MAILBOX_BLOB_VERSION, kind: content.kind, changes: toWire(content.changes), signed: content.signed, vector: content.vector }));
    default: {
      const unknownKind: never = content;
      throw new Error(`unknown blob kind ${String(unknownKind)}`);
    }
  }
}

/** Seals `content` for `position` (the log seq it will be appended at, or the seq a snapshot covers). */
export async function sealBlob(keys: MailboxKeys, content: MailboxContent, position: number): Promise<Uint8Array> {
  return sealPlain(keys, content.kind, encodeContent(content), position);
}

export async function sealPlain(keys: MailboxKeys, kind: BlobKind, plain: Uint8Array<ArrayBuffer>, position: number): Promise<Uint8Array> {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const sealed = await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: associatedData(keys, kind, position) }, keys.sealKey, plain);
  const out = new Uint8Array(NONCE_BYTES + sealed.byteLength);
  out.set(nonce, 0);
  out.set(new Uint8Array(sealed), NONCE_BYTES);
  return out;
}

/**
 * Opens and validates a blob found at `position`. AUTH when it was not sealed with this room's
 * key for this mailbox, kind and position (forged, replayed elsewhere, or another room's);
 * BAD_OP when it opens but its content is malformed.
 */
export async function openBlob(keys: MailboxKeys, kind: BlobKind, sealed: Uint8Array, position: number): Promise<MailboxContent> {
  if (sealed.length <= NONCE_BYTES + 16) throw new BatteryError('AUTH', 'mailbox blob too short to be sealed');
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: new Uint8Array(sealed.subarray(0, NONCE_BYTES)), additionalData: associatedData(keys, kind, position) },
        keys.sealKey,
        new Uint8Array(sealed.subarray(NONCE_BYTES)),
      ),
    );
  } catch {
    throw new BatteryError('AUTH', `mailbox ${kind} at ${position} does not open with this room's key (forged, moved or from another room)`);
  }
  return decodeContent(plain, kind);
}

function decodeContent(plain: Uint8Array, kind: BlobKind): MailboxContent {
  let raw: unknown;
  try {
    checkMsgpackShape(plain);
    raw = decoder.decode(plain);
  } catch (err) {
    throw new BatteryError('BAD_OP', `malformed mailbox blob: ${(err as Error).message}`);
  }
  const m = raw as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || (m.v !== MAILBOX_BLOB_VERSION && m.v !== SIGNED_V1_BLOB_VERSION && m.v !== LEGACY_BLOB_VERSION) || m.kind !== kind) {
    throw new BatteryError('BAD_OP', `malformed mailbox blob: expected a version ${MAILBOX_BLOB_VERSION} ${kind}`);
  }
  const signed = m.v === LEGACY_BLOB_VERSION ? [] : m.signed;
  if (!Array.isArray(signed) || signed.some((b) => !(b instanceof Uint8Array) || b.length === 0)) {
    throw new BatteryError('BAD_OP', 'malformed mailbox blob: signed must be a list of signed sets');
  }
  let changes: ChangeSet;
  try {
    changes = validateChangeSet(fromWire(m.changes));
  } catch (err) {
    throw new BatteryError('BAD_OP', `malformed mailbox blob: ${(err as Error).message}`);
  }
  try {
    if (kind === 'changes') return { kind, changes, signed, upTo: m.upTo === null ? null : validateVector(m.upTo, 'upTo') };
    return { kind, changes, signed, vector: validateVector(m.vector) };
  } catch (err) {
    throw new BatteryError('BAD_OP', `malformed mailbox snapshot: ${(err as Error).message}`);
  }
}
