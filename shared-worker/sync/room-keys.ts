/**
 * Everything a room needs is derived from its token, so the token itself never leaves the
 * browser: the signaling server only ever sees `roomId`, peers prove knowledge of the token with
 * `authKey`, and per-link session keys come from `encKey` (see sealed-channel.ts). The PeerJS token
 * the server binds our peer id to is per member, not per room (member-signaling-token.ts).
 *
 * The room id is public (the signaling server sees it, logs carry its prefix), so it lets anyone
 * test token guesses offline. The token is therefore first stretched with PBKDF2-SHA-256 at
 * ROOM_KDF_ITERATIONS, and the room id and both keys are HKDF-SHA-256 outputs of that stretched
 * secret, each with its own label: every guess costs the full PBKDF2 run, whichever derived value
 * an attacker checks it against (an auth proof seen on a link included).
 *
 * The salt/info strings carry a version tag: changing the derivation means bumping it, and peers
 * on different derivations simply land in different rooms.
 */
const PBKDF2_SALT = 'rtc-battery/room-kdf/v2';
const HKDF_SALT = 'rtc-battery/room/v2';
const INFO_ROOM_ID = 'rtc-battery/room-id/v2';
const INFO_AUTH = 'rtc-battery/auth-key/v2';
const INFO_ENC = 'rtc-battery/enc-key/v2';

/**
 * OWASP's figure for PBKDF2-HMAC-SHA-256 (2023): once per `connect()`, and per offline guess.
 * Measured figures (CPU time per derivation, guesses per second): docs/security.md;
 * `npx tsx bench/run.ts room-kdf` measures them on your machine.
 */
export const ROOM_KDF_ITERATIONS = 600_000;

export interface RoomKeys {
  /** 32 lowercase hex characters: the only token-derived value that leaves the browser. */
  roomId: string;
  /** HMAC-SHA-256 key for the mutual link challenge (peer-auth.ts). */
  authKey: CryptoKey;
  /** HKDF base key from which per-link, per-direction AES-GCM keys are derived. */
  encKey: CryptoKey;
}

const utf8 = new TextEncoder();

/**
 * The token stretched by PBKDF2, as an HKDF base key. Every value derived from a token (room keys
 * here, the mailbox's keys in mailbox-keys.ts) comes from this, so none of them is a cheaper
 * target for guessing than the room id.
 */
export async function stretchToken(token: string): Promise<CryptoKey> {
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('room token must be a non-empty string');
  const subtle = globalThis.crypto.subtle;
  const password = await subtle.importKey('raw', utf8.encode(token), 'PBKDF2', false, ['deriveBits']);
  const stretched = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: utf8.encode(PBKDF2_SALT), iterations: ROOM_KDF_ITERATIONS },
    password,
    256,
  );
  return subtle.importKey('raw', stretched, 'HKDF', false, ['deriveBits']);
}

export async function deriveRoomKeys(token: string): Promise<RoomKeys> {
  const subtle = globalThis.crypto.subtle;
  const base = await stretchToken(token);
  const bits = (info: string, length: number) =>
    subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: utf8.encode(HKDF_SALT), info: utf8.encode(info) }, base, length);
  const [roomBits, authBits, encBits] = await Promise.all([bits(INFO_ROOM_ID, 128), bits(INFO_AUTH, 256), bits(INFO_ENC, 256)]);
  const roomId = toHex(new Uint8Array(roomBits));
  const authKey = await subtle.importKey('raw', authBits, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  // HKDF keys cannot be produced by deriveKey (HKDF has no key length), hence deriveBits + import.
  const encKey = await subtle.importKey('raw', encBits, 'HKDF', false, ['deriveBits', 'deriveKey']);
  return { roomId, authKey, encKey };
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
