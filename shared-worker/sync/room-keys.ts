/**
 * Everything a room needs is derived from its token with HKDF-SHA-256, so the token itself never
 * leaves the browser: the signaling server only ever sees `roomId`, peers prove knowledge of the
 * token with `authKey`, and per-link session keys come from `encKey` (see sealed-channel.ts).
 * The salt/info strings carry a version tag: changing the derivation means bumping it, and peers
 * on different derivations simply land in different rooms.
 */
const SALT = 'rtc-battery/room/v1';
const INFO_ROOM_ID = 'rtc-battery/room-id/v1';
const INFO_AUTH = 'rtc-battery/auth-key/v1';
const INFO_ENC = 'rtc-battery/enc-key/v1';

export interface RoomKeys {
  /** 32 lowercase hex characters: the only token-derived value that leaves the browser. */
  roomId: string;
  /** HMAC-SHA-256 key for the mutual link challenge (peer-auth.ts). */
  authKey: CryptoKey;
  /** HKDF base key from which per-link, per-direction AES-GCM keys are derived. */
  encKey: CryptoKey;
}

const utf8 = new TextEncoder();

export async function deriveRoomKeys(token: string): Promise<RoomKeys> {
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('room token must be a non-empty string');
  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey('raw', utf8.encode(token), 'HKDF', false, ['deriveBits']);
  const bits = (info: string, length: number) =>
    subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: utf8.encode(SALT), info: utf8.encode(info) }, base, length);
  const [roomBits, authBits, encBits] = await Promise.all([bits(INFO_ROOM_ID, 128), bits(INFO_AUTH, 256), bits(INFO_ENC, 256)]);
  const roomId = toHex(new Uint8Array(roomBits));
  const authKey = await subtle.importKey('raw', authBits, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  // HKDF keys cannot be produced by deriveKey (HKDF has no key length), hence deriveBits + import.
  const encKey = await subtle.importKey('raw', encBits, 'HKDF', false, ['deriveBits', 'deriveKey']);
  return { roomId, authKey, encKey };
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
