/**
 * Signed change sets: the unit that lets a receiver check who wrote a change, also when a third
 * replica forwards it (docs/security.md, "Authorship").
 *
 * A signing identity is a WebCrypto key pair (Ed25519 where the runtime has it, ECDSA P-256 with
 * SHA-256 otherwise) and the node id bound to its public key: the first 16 hex characters of
 * SHA-256 over the public key's SPKI bytes. The signature covers a canonical msgpack encoding of
 * [scheme, public key, node id, change set in wire form], so neither the key nor the claimed
 * author can be swapped without breaking it. A signed change set holds changes of its signer only:
 * `nodes` is exactly [signer's node id], so every stamp in it is the signer's.
 */
import { Encoder } from '@msgpack/msgpack';
import { BatteryError } from '../protocol/errors.js';
import type { ChangeSet } from '../replica/contracts/change-set.js';
import { negativeZeroCodec } from '../replica/contracts/msgpack-negative-zero.js';
import { bufferSource } from './peer-auth.js';
import { toWire } from './wire-changes.js';

export type SignatureScheme = 'Ed25519' | 'ECDSA-P256';

export interface SigningIdentity {
  readonly scheme: SignatureScheme;
  /** SPKI bytes of the public key. */
  readonly publicKey: Uint8Array;
  readonly privateKey: CryptoKey;
  /** 16 lowercase hex chars bound to `publicKey` (nodeIdOfPublicKey). */
  readonly nodeId: string;
}

/** What storage keeps of an identity (the private key as PKCS#8 bytes). */
export interface ExportedIdentity {
  scheme: SignatureScheme;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface SignedChangeSet {
  scheme: SignatureScheme;
  publicKey: Uint8Array;
  changes: ChangeSet;
  signature: Uint8Array;
}

const ALGORITHMS: Record<SignatureScheme, { key: EcKeyImportParams | Algorithm; sign: EcdsaParams | Algorithm }> = {
  Ed25519: { key: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  'ECDSA-P256': { key: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
};

/** Canonical signed bytes: Encoder.encode is deterministic for the same arrays and values. */
const encoder = new Encoder({ extensionCodec: negativeZeroCodec });

function signedBytes(scheme: SignatureScheme, publicKey: Uint8Array, nodeId: string, changes: ChangeSet): Uint8Array {
  return encoder.encode(['rtc-battery change set v1', scheme, publicKey, nodeId, toWire(changes)]);
}

export async function nodeIdOfPublicKey(spki: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bufferSource(spki)));
  let hex = '';
  for (let i = 0; i < 8; i++) hex += digest[i]!.toString(16).padStart(2, '0');
  return hex;
}

async function identityOf(scheme: SignatureScheme, publicKey: Uint8Array, privateKey: CryptoKey): Promise<SigningIdentity> {
  return { scheme, publicKey, privateKey, nodeId: await nodeIdOfPublicKey(publicKey) };
}

/** A fresh identity with the first scheme of `prefer` this runtime supports. */
export async function createSigningIdentity(prefer: readonly SignatureScheme[] = ['Ed25519', 'ECDSA-P256']): Promise<SigningIdentity> {
  let lastError: unknown = null;
  for (const scheme of prefer) {
    try {
      const pair = (await crypto.subtle.generateKey(ALGORITHMS[scheme].key, true, ['sign', 'verify'])) as CryptoKeyPair;
      const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
      return await identityOf(scheme, spki, pair.privateKey);
    } catch (e) {
      lastError = e; // e.g. NotSupportedError for Ed25519 in an older browser: try the next scheme
    }
  }
  throw new BatteryError('AUTH', `no signature scheme available (${String(lastError)})`);
}

export async function exportSigningIdentity(identity: SigningIdentity): Promise<ExportedIdentity> {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', identity.privateKey));
  return { scheme: identity.scheme, publicKey: identity.publicKey, privateKey: pkcs8 };
}

export async function importSigningIdentity(stored: ExportedIdentity): Promise<SigningIdentity> {
  const privateKey = await crypto.subtle.importKey('pkcs8', bufferSource(stored.privateKey), ALGORITHMS[stored.scheme].key, true, ['sign']);
  return identityOf(stored.scheme, stored.publicKey, privateKey);
}

function refuse(message: string): never {
  throw new BatteryError('AUTH', `change set signature: ${message}`);
}

/** Signs a change set of `identity`'s own changes (nodes must be exactly [identity.nodeId]). */
export async function signChangeSet(identity: SigningIdentity, changes: ChangeSet): Promise<SignedChangeSet> {
  if (changes.nodes.length !== 1 || changes.nodes[0] !== identity.nodeId) {
    throw new BatteryError('BAD_OP', 'a signed change set holds the signer\'s own changes only');
  }
  const bytes = signedBytes(identity.scheme, identity.publicKey, identity.nodeId, changes);
  const signature = new Uint8Array(await crypto.subtle.sign(ALGORITHMS[identity.scheme].sign, identity.privateKey, bufferSource(bytes)));
  return { scheme: identity.scheme, publicKey: identity.publicKey, changes, signature };
}

/** Imported verify keys and their node ids by scheme + SPKI: a peer's batches come from few authors. */
const verifiers = new Map<string, { key: CryptoKey; nodeId: string }>();
const VERIFIER_CACHE_LIMIT = 1_024;

async function verifierOf(scheme: SignatureScheme, publicKey: Uint8Array): Promise<{ key: CryptoKey; nodeId: string }> {
  let id = scheme + ':';
  for (const b of publicKey) id += b.toString(16).padStart(2, '0');
  const cached = verifiers.get(id);
  if (cached) return cached;
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', bufferSource(publicKey), ALGORITHMS[scheme].key, false, ['verify']);
  } catch {
    refuse('not a public key of its scheme');
  }
  const verifier = { key, nodeId: await nodeIdOfPublicKey(publicKey) };
  if (verifiers.size >= VERIFIER_CACHE_LIMIT) verifiers.clear();
  verifiers.set(id, verifier);
  return verifier;
}

/**
 * Resolves to the author's node id when `signed` is intact: the public key names the change
 * set's only node id and the signature checks. Throws AUTH otherwise; nothing of a refused set
 * may be applied or raise a vector entry.
 */
export async function verifyChangeSet(signed: SignedChangeSet): Promise<string> {
  const { scheme, publicKey, changes, signature } = signed;
  if (!Object.hasOwn(ALGORITHMS, scheme)) refuse('unknown scheme');
  const { key, nodeId } = await verifierOf(scheme, publicKey);
  if (changes.nodes.length !== 1 || changes.nodes[0] !== nodeId) refuse(`its changes are not all of node ${nodeId}, the key's node`);
  const ok = await crypto.subtle.verify(ALGORITHMS[scheme].sign, key, bufferSource(signature), bufferSource(signedBytes(scheme, publicKey, nodeId, changes)));
  if (!ok) refuse(`does not match node ${nodeId}'s key`);
  return nodeId;
}
