/**
 * AES-GCM sealing of everything sent on a link after authentication.
 *
 * Keys: one AES-256-GCM key per link and direction, HKDF(encKey, salt = initiator nonce |
 * responder nonce, info = label | direction | both peer ids). Fresh nonces make every link's keys
 * new, so a sealed message recorded on one link cannot be replayed into another; distinct
 * directions mean a message cannot be reflected back to its sender.
 *
 * IVs: 96 bits = 4 zero bytes + a 64-bit per-direction message counter. The counter is never sent:
 * the link is reliable and ordered, so both ends count, and a replayed, dropped or reordered
 * message opens under the wrong IV and fails authentication. A counter never repeats within a key
 * (2^53 messages is beyond reach; we refuse to go further rather than wrap).
 */
import { BatteryError } from '../protocol/errors.js';
import type { AuthResult } from './peer-auth.js';
import { concatBytes } from './peer-auth.js';
import { cryptoBytes } from '../replica/contracts/signing-identity.js';

const SESSION_LABEL = 'rtc-battery/session/v1';
const utf8 = new TextEncoder();

export interface SealedChannel {
  /** Seals the next outbound message. Calls must be made in send order (the counter is taken at call time). */
  seal(plain: Uint8Array): Promise<Uint8Array>;
  /** Opens the next inbound message; BatteryError('AUTH') if it was tampered with, replayed or reflected. */
  open(sealed: Uint8Array): Promise<Uint8Array>;
}

export async function openSealedChannel(encKey: CryptoKey, auth: AuthResult, weAreInitiator: boolean): Promise<SealedChannel> {
  const toResponder = await directionKey(encKey, auth, 'initiator->responder');
  const toInitiator = await directionKey(encKey, auth, 'responder->initiator');
  const sendKey = weAreInitiator ? toResponder : toInitiator;
  const recvKey = weAreInitiator ? toInitiator : toResponder;
  let sendCounter = 0;
  let recvCounter = 0;
  return {
    async seal(plain) {
      const iv = ivFor(sendCounter++);
      return new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv }, sendKey, cryptoBytes(plain)));
    },
    async open(sealed) {
      const iv = ivFor(recvCounter++);
      try {
        return new Uint8Array(await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv }, recvKey, cryptoBytes(sealed)));
      } catch {
        throw new BatteryError('AUTH', 'a sealed message failed to open (tampered, replayed or reflected)');
      }
    },
  };
}

function directionKey(encKey: CryptoKey, auth: AuthResult, direction: string): Promise<CryptoKey> {
  const salt = concatBytes([auth.initiatorNonce, auth.responderNonce]);
  const info = utf8.encode(`${SESSION_LABEL}|${direction}|${auth.initiatorPeerId}|${auth.responderPeerId}`);
  return globalThis.crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt, info },
    encKey,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function ivFor(counter: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(counter)) throw new BatteryError('AUTH', 'message counter exhausted; reconnect');
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(4, Math.floor(counter / 2 ** 32));
  view.setUint32(8, counter >>> 0);
  return iv;
}
