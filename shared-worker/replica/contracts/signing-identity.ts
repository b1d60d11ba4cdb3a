/**
 * A replica's signing identity (docs/security.md, "Authorship"): a WebCrypto key pair (Ed25519
 * where the runtime has it, ECDSA P-256 with SHA-256 otherwise) and the node id bound to its
 * public key, the first 16 hex characters of SHA-256 over the public key's SPKI bytes. The
 * durable replica keeps it beside its database (never inside the file, so an exported database
 * never holds the private key) and writes under that node id; sync signs with it.
 */
import { BatteryError } from '../../protocol/errors.js';

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

export const SIGNATURE_ALGORITHMS: Record<SignatureScheme, { key: EcKeyImportParams | Algorithm; sign: EcdsaParams | Algorithm }> = {
  Ed25519: { key: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  'ECDSA-P256': { key: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
};

/** WebCrypto takes only ArrayBuffer-backed views (not SharedArrayBuffer ones): copy when needed. */
export function cryptoBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

export async function nodeIdOfPublicKey(spki: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', cryptoBytes(spki)));
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
      const pair = (await crypto.subtle.generateKey(SIGNATURE_ALGORITHMS[scheme].key, true, ['sign', 'verify'])) as CryptoKeyPair;
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

/** Reads a stored identity back; BatteryError WORKER when the record is not one. */
export async function importSigningIdentity(stored: unknown): Promise<SigningIdentity> {
  const s = stored as Partial<ExportedIdentity> | null;
  if (typeof s !== 'object' || s === null || !Object.hasOwn(SIGNATURE_ALGORITHMS, String(s.scheme))
    || !(s.publicKey instanceof Uint8Array) || !(s.privateKey instanceof Uint8Array)) {
    throw new BatteryError('WORKER', 'the stored signing identity is damaged');
  }
  const scheme = s.scheme as SignatureScheme;
  const privateKey = await crypto.subtle.importKey('pkcs8', cryptoBytes(s.privateKey), SIGNATURE_ALGORITHMS[scheme].key, true, ['sign']);
  return identityOf(scheme, s.publicKey, privateKey);
}
