/**
 * The mailbox's keys, derived from the room token with HKDF-SHA-256 under labels of their own,
 * so they share nothing with the room id the signaling server sees (room-keys.ts): knowing a
 * room id gives no access to its mailbox, and the reverse.
 *   - `accessKey` (32 bytes) is sent to the server in `hello`; the server stores and indexes
 *     only its SHA-256, the `mailboxId`, so a copy of the server's database does not let anyone
 *     open, read or compact the mailbox (that needs the preimage).
 *   - `sealKey` (AES-GCM-256) seals blobs and never leaves the browser. See mailbox-blob.ts.
 * Both come from the PBKDF2-stretched token (room-keys.ts stretchToken), like the room id: a
 * server testing guesses of a token against a mailbox id pays the full stretch per guess, and
 * connect() refuses weak tokens anyway (docs/mailbox.md).
 */
import { stretchToken, toHex } from './room-keys.js';

const SALT = 'rtc-battery/mailbox/v2';
const INFO_ACCESS = 'rtc-battery/mailbox-access/v2';
const INFO_SEAL = 'rtc-battery/mailbox-seal/v2';

export interface MailboxKeys {
  accessKey: Uint8Array;
  /** SHA-256 of accessKey: what the server calls the mailbox; bound into every blob's associated data. */
  mailboxId: Uint8Array;
  mailboxIdHex: string;
  sealKey: CryptoKey;
}

const utf8 = new TextEncoder();

export async function deriveMailboxKeys(token: string): Promise<MailboxKeys> {
  const subtle = globalThis.crypto.subtle;
  const base = await stretchToken(token);
  const bits = (info: string) => subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: utf8.encode(SALT), info: utf8.encode(info) }, base, 256);
  const [accessBits, sealBits] = await Promise.all([bits(INFO_ACCESS), bits(INFO_SEAL)]);
  const accessKey = new Uint8Array(accessBits);
  const mailboxId = new Uint8Array(await subtle.digest('SHA-256', accessKey));
  const sealKey = await subtle.importKey('raw', sealBits, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return { accessKey, mailboxId, mailboxIdHex: toHex(mailboxId), sealKey };
}
