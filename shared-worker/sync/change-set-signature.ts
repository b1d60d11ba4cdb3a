/**
 * Signed change sets: the unit that lets a receiver check who wrote a change, also when a third
 * replica (or the mailbox) forwards it (docs/security.md, "Authorship").
 *
 * A signed set holds the registers of ONE stamp (hlc, origin) of its signer: `nodes` is exactly
 * [signer's node id] and every register carries that hlc. One local exec commits under one stamp,
 * so its live batch is one set; a delta sends the sets of the stamps a peer lacks. Relays store
 * and forward a set's bytes verbatim (the body), so any replica can check it.
 *
 * Body = msgpack [payload, signature]; payload = msgpack ['rtc-battery signed set v2', scheme,
 * public key (SPKI), node id, hlc, prev, parts, change set in wire form]. The signature covers the
 * payload bytes as sent, so checking needs no canonical re-encoding, and neither the key nor the
 * claimed author nor the stamp can be swapped without breaking it.
 *
 * `prev` (an hlc, or nil when unknown) is the author's word that it has no stamp of its own with
 * live registers between prev and hlc; `parts` is how many sets the stamp was cut into (1 for
 * most). Together they let a receiver raise its vector entry for the author only along an
 * unbroken chain, so a member that withholds some of the author's sets cannot make it skip them
 * (vector-chain.ts, docs/security.md "Withheld sets"). Version 1 bodies (no prev, no parts) are
 * still accepted, as sets whose predecessor is unknown.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { BatteryError } from '../protocol/errors.js';
import type { ChangeSet } from '../replica/contracts/change-set.js';
import { negativeZeroCodec } from '../replica/contracts/msgpack-negative-zero.js';
import { cryptoBytes, nodeIdOfPublicKey, SIGNATURE_ALGORITHMS, type SignatureScheme, type SigningIdentity } from '../replica/contracts/signing-identity.js';
import { checkMsgpackShape, MAX_MSGPACK_DEPTH } from './msgpack-guard.js';
import { validateChangeSet } from './peer-protocol.js';
import { fromWire, toWire } from './wire-changes.js';

const LABEL = 'rtc-battery signed set v2';
/** Bodies of protocol 3 (no prev, no parts). */
const LABEL_V1 = 'rtc-battery signed set v1';

/**
 * Decode headroom per body beyond 12 bytes of heap per byte (msgpack-guard.ts): a one-row set is
 * a few hundred bytes of a dozen small containers. At most another 12 per body byte, so the bodies
 * of a message cost at most 24x their bytes once opened (docs/security.md, "Decode cost").
 */
const bodyDecodeAllowance = (bytes: number) => Math.min(4 * 1024, 12 * bytes);

/** Where a set stands in its author's sequence of stamps (signed with it). */
export interface SetLink {
  /** The author's previous stamp with live registers (null: unknown, e.g. a version 1 body). */
  prev: number | null;
  /** How many sets the stamp was cut into (a set of a stamp cut in several never proves the whole stamp). */
  parts: number;
}

/** A set whose signature checked: its author (the only node in it), its stamp's hlc, its link, the changes and the verbatim body. */
export interface VerifiedSet extends SetLink {
  author: string;
  hlc: number;
  changes: ChangeSet;
  body: Uint8Array;
}

const encoder = new Encoder({ extensionCodec: negativeZeroCodec });
const decoder = new Decoder({ extensionCodec: negativeZeroCodec });

function refuse(message: string): never {
  throw new BatteryError('AUTH', `change set signature: ${message}`);
}

/** The one hlc of every register of `changes`, or null when they carry several (or none). */
function singleStampHlc(changes: ChangeSet): number | null {
  let hlc: number | null = null;
  const see = (h: number, node: number): boolean => {
    if (node !== 0) return false;
    if (hlc === null) hlc = h;
    return h === hlc;
  };
  for (const t of changes.tables) {
    for (const r of t.rows) {
      if (r.put && !see(r.put[0], r.put[1])) return null;
      if (r.del && !see(r.del[0], r.del[1])) return null;
      for (const c of r.cells) if (!see(c[2], c[3])) return null;
    }
  }
  return hlc;
}

/**
 * Signs the registers of one stamp of `identity`'s own (nodes must be exactly [identity.nodeId]).
 * `link` defaults to an unknown predecessor and a whole stamp.
 */
export async function signChangeSet(identity: SigningIdentity, changes: ChangeSet, link: SetLink = { prev: null, parts: 1 }): Promise<Uint8Array> {
  if (changes.nodes.length !== 1 || changes.nodes[0] !== identity.nodeId) {
    throw new BatteryError('BAD_OP', 'a signed change set holds the signer\'s own changes only');
  }
  const hlc = singleStampHlc(changes);
  if (hlc === null) throw new BatteryError('BAD_OP', 'a signed change set holds the registers of one stamp');
  if (!validLink(link.prev, link.parts, hlc)) throw new BatteryError('BAD_OP', 'a signed change set\'s prev is below its stamp and its parts at least 1');
  const payload = encoder.encode([LABEL, identity.scheme, identity.publicKey, identity.nodeId, hlc, link.prev, link.parts, toWire(changes)]);
  const signature = new Uint8Array(await crypto.subtle.sign(SIGNATURE_ALGORITHMS[identity.scheme].sign, identity.privateKey, cryptoBytes(payload)));
  return encoder.encode([payload, signature]);
}

function validLink(prev: unknown, parts: unknown, hlc: number): boolean {
  const prevOk = prev === null || (typeof prev === 'number' && Number.isSafeInteger(prev) && prev >= 0 && prev < hlc);
  return prevOk && typeof parts === 'number' && Number.isSafeInteger(parts) && parts >= 1;
}

/** Imported verify keys and their node ids by scheme + SPKI: a room has few authors. */
const verifiers = new Map<string, { key: CryptoKey; nodeId: string }>();
const VERIFIER_CACHE_LIMIT = 1_024;

async function verifierOf(scheme: SignatureScheme, publicKey: Uint8Array): Promise<{ key: CryptoKey; nodeId: string }> {
  let id = scheme + ':';
  for (const b of publicKey) id += b.toString(16).padStart(2, '0');
  const cached = verifiers.get(id);
  if (cached) return cached;
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', cryptoBytes(publicKey), SIGNATURE_ALGORITHMS[scheme].key, false, ['verify']);
  } catch {
    refuse('not a public key of its scheme');
  }
  const verifier = { key, nodeId: await nodeIdOfPublicKey(publicKey) };
  if (verifiers.size >= VERIFIER_CACHE_LIMIT) verifiers.clear();
  verifiers.set(id, verifier);
  return verifier;
}

function decodeChecked(bytes: Uint8Array, what: string): unknown {
  try {
    checkMsgpackShape(bytes, MAX_MSGPACK_DEPTH, bodyDecodeAllowance(bytes.length));
    return decoder.decode(bytes);
  } catch (e) {
    throw new BatteryError('BAD_OP', `malformed signed change set ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Opens and checks a body: its public key names its only node id, all its registers carry one
 * stamp of that node, and the signature checks. Throws AUTH (or BAD_OP for a malformed body);
 * nothing of a refused set may be applied or raise a vector entry.
 */
export async function verifyChangeSet(body: Uint8Array): Promise<VerifiedSet> {
  const outer = decodeChecked(body, 'body');
  if (!Array.isArray(outer) || outer.length !== 2 || !(outer[0] instanceof Uint8Array) || !(outer[1] instanceof Uint8Array)) refuse('not [payload, signature]');
  const [payload, signature] = outer as [Uint8Array, Uint8Array];
  const inner = decodeChecked(payload, 'payload');
  const v1 = Array.isArray(inner) && inner.length === 6 && inner[0] === LABEL_V1;
  if (!Array.isArray(inner) || (!v1 && (inner.length !== 8 || inner[0] !== LABEL))) refuse('not a signed set payload');
  const [, scheme, publicKey, claimed, hlc] = inner as [string, unknown, unknown, unknown, unknown];
  if (typeof scheme !== 'string' || !Object.hasOwn(SIGNATURE_ALGORITHMS, scheme)) refuse('unknown scheme');
  if (!(publicKey instanceof Uint8Array)) refuse('no public key');
  if (typeof hlc !== 'number' || !Number.isSafeInteger(hlc) || hlc < 0) refuse('no stamp');
  const link: SetLink = v1 ? { prev: null, parts: 1 } : { prev: inner[5] as number | null, parts: inner[6] as number };
  if (!validLink(link.prev, link.parts, hlc)) refuse('its prev is not below its stamp or its parts not a count');
  const { key, nodeId } = await verifierOf(scheme as SignatureScheme, publicKey);
  if (claimed !== nodeId) refuse(`it names node ${String(claimed).slice(0, 20)}, its key is node ${nodeId}'s`);
  const changes = validateChangeSet(fromWire(inner[v1 ? 5 : 7]));
  if (changes.nodes.length !== 1 || changes.nodes[0] !== nodeId) refuse(`its changes are not all of node ${nodeId}, the key's node`);
  if (singleStampHlc(changes) !== hlc) refuse('its registers do not all carry its one stamp');
  const ok = await crypto.subtle.verify(SIGNATURE_ALGORITHMS[scheme as SignatureScheme].sign, key, cryptoBytes(signature), cryptoBytes(payload));
  if (!ok) refuse(`does not match node ${nodeId}'s key`);
  return { author: nodeId, hlc, ...link, changes, body };
}

/** Rows in a body (for sync progress of forwarded sets); 0 for a body that does not decode. */
export function signedSetRows(body: Uint8Array): number {
  try {
    const [payload] = decodeChecked(body, 'body') as [Uint8Array];
    const fields = decodeChecked(payload, 'payload') as unknown[];
    return fromWire(fields[fields[0] === LABEL_V1 ? 5 : 7]).tables.reduce((n, t) => n + t.rows.length, 0);
  } catch {
    return 0;
  }
}
