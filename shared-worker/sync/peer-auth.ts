/**
 * The mutual challenge every fresh link passes before anything else is sent on it.
 *
 * Both sides send a challenge (fresh 32-byte nonce + own peer id) at once, then, having seen the
 * other's challenge, a proof: HMAC(authKey, label | prover role | initiator nonce | responder nonce
 * | initiator peer id | responder peer id). Each side verifies the other's proof with
 * crypto.subtle.verify (constant time). The prover's role is part of the MAC, so a proof cannot be
 * reflected back at its sender; the nonces are fresh, so a proof cannot be replayed into another
 * link. Only these two frames are ever sent before the peer is authenticated: a peer without the
 * token learns a nonce, a peer id (it already knew) and an HMAC it cannot use.
 *
 * Frames are fixed-layout bytes (no decoder runs on unauthenticated input):
 *   challenge: [0x01][version][nonce 32][peer id, 49 ASCII bytes]       = 83 bytes
 *   proof:     [0x02][HMAC-SHA-256 32]                                  = 33 bytes
 */
import { BatteryError } from '../protocol/errors.js';
import { parsePeerId } from '../protocol/ids.js';
import type { PeerLink } from '../protocol/peer-link.js';
import type { RoomKeys } from './room-keys.js';

/** A link that has not authenticated by then is closed with nothing sent (docs/security.md "Links"). */
export const AUTH_TIMEOUT_MS = 5_000;

const AUTH_VERSION = 1;
const KIND_CHALLENGE = 0x01;
const KIND_PROOF = 0x02;
const NONCE_BYTES = 32;
const PEER_ID_BYTES = 49; // 32 hex room id + '-' + 16 hex node id
const CHALLENGE_BYTES = 2 + NONCE_BYTES + PEER_ID_BYTES;
const PROOF_BYTES = 1 + 32;
const PROOF_LABEL = 'rtc-battery/auth-proof/v1';

export type AuthRole = 'initiator' | 'responder';

/** What both sides agreed on; the inputs of the session key derivation. */
export interface AuthResult {
  initiatorNonce: Uint8Array;
  responderNonce: Uint8Array;
  initiatorPeerId: string;
  responderPeerId: string;
}

const ascii = new TextEncoder();
const asciiDecoder = new TextDecoder('utf-8', { fatal: true });

function fail(message: string): never {
  throw new BatteryError('AUTH', message);
}

/**
 * One side of the handshake on one link. `start()` sends our challenge; `handle(frame)` consumes
 * the remote's frames in order and resolves to the AuthResult once both proofs are settled (null
 * while still waiting). Any irregularity throws BatteryError('AUTH'); the caller closes the link.
 */
export class PeerAuthenticator {
  private readonly role: AuthRole;
  private readonly ownNonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  private remoteNonce: Uint8Array | null = null;
  private done = false;

  constructor(
    private readonly link: PeerLink,
    private readonly keys: RoomKeys,
    private readonly selfPeerId: string,
  ) {
    this.role = link.initiator ? 'initiator' : 'responder';
    if (ascii.encode(selfPeerId).length !== PEER_ID_BYTES || parsePeerId(selfPeerId)?.roomId !== keys.roomId) {
      throw new BatteryError('AUTH', `own peer id ${selfPeerId} is not a peer id of this room`);
    }
  }

  start(): void {
    const frame = new Uint8Array(CHALLENGE_BYTES);
    frame[0] = KIND_CHALLENGE;
    frame[1] = AUTH_VERSION;
    frame.set(this.ownNonce, 2);
    frame.set(ascii.encode(this.selfPeerId), 2 + NONCE_BYTES);
    this.link.send(frame);
  }

  async handle(frame: Uint8Array): Promise<AuthResult | null> {
    if (this.done) fail('unexpected frame after authentication');
    if (this.remoteNonce === null) {
      this.acceptChallenge(frame);
      this.link.send(await this.proof(this.role));
      return null;
    }
    if (frame.length !== PROOF_BYTES || frame[0] !== KIND_PROOF) fail('expected an authentication proof');
    const remoteRole: AuthRole = this.role === 'initiator' ? 'responder' : 'initiator';
    const ok = await globalThis.crypto.subtle.verify('HMAC', this.keys.authKey, frame.slice(1), this.proofInput(remoteRole));
    if (!ok) fail('the peer does not know the room token (wrong proof)');
    this.done = true;
    return this.result();
  }

  private acceptChallenge(frame: Uint8Array): void {
    if (frame.length !== CHALLENGE_BYTES || frame[0] !== KIND_CHALLENGE) fail('expected an authentication challenge');
    if (frame[1] !== AUTH_VERSION) fail(`unsupported authentication version ${frame[1]}`);
    let claimed: string;
    try {
      claimed = asciiDecoder.decode(frame.subarray(2 + NONCE_BYTES));
    } catch {
      fail('malformed peer id in challenge');
    }
    if (claimed !== this.link.remotePeerId) fail(`claimed peer id ${claimed} differs from the link's ${this.link.remotePeerId}`);
    if (parsePeerId(claimed)?.roomId !== this.keys.roomId) fail(`peer ${claimed} is not in our room`);
    if (claimed === this.selfPeerId) fail('a link to ourselves');
    this.remoteNonce = frame.slice(2, 2 + NONCE_BYTES);
  }

  private async proof(role: AuthRole): Promise<Uint8Array> {
    const mac = await globalThis.crypto.subtle.sign('HMAC', this.keys.authKey, this.proofInput(role));
    const frame = new Uint8Array(PROOF_BYTES);
    frame[0] = KIND_PROOF;
    frame.set(new Uint8Array(mac), 1);
    return frame;
  }

  private result(): AuthResult {
    const remoteNonce = this.remoteNonce!;
    const initiator = this.role === 'initiator';
    return {
      initiatorNonce: initiator ? this.ownNonce : remoteNonce,
      responderNonce: initiator ? remoteNonce : this.ownNonce,
      initiatorPeerId: initiator ? this.selfPeerId : this.link.remotePeerId,
      responderPeerId: initiator ? this.link.remotePeerId : this.selfPeerId,
    };
  }

  /** label | role | nonce_I | nonce_R | peerId_I | peerId_R — every part fixed-length, so no ambiguity. */
  private proofInput(prover: AuthRole): Uint8Array<ArrayBuffer> {
    const r = this.result();
    const parts = [
      ascii.encode(PROOF_LABEL),
      Uint8Array.of(prover === 'initiator' ? 0x49 : 0x52),
      r.initiatorNonce,
      r.responderNonce,
      ascii.encode(r.initiatorPeerId),
      ascii.encode(r.responderPeerId),
    ];
    return concatBytes(parts);
  }
}

export function concatBytes(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
