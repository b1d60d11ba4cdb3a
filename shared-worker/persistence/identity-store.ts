/**
 * The replica's signing identity in its key-value store, under a key of its own: never inside the
 * database file, so exports and snapshots of the database never hold the private key
 * (docs/security.md, "Authorship"). Made and stored durably before the first write under it.
 */
import { createSigningIdentity, exportSigningIdentity, importSigningIdentity, type SigningIdentity } from '../replica/contracts/signing-identity.js';
import type { KeyValueStore } from './kv-store.js';

const IDENTITY_KEY = 'identity';

export async function loadSigningIdentity(store: KeyValueStore): Promise<SigningIdentity> {
  const stored = await store.get<unknown>(IDENTITY_KEY);
  if (stored !== undefined) return importSigningIdentity(stored);
  const identity = await createSigningIdentity();
  await store.write({ set: [[IDENTITY_KEY, await exportSigningIdentity(identity)]] });
  return identity;
}
