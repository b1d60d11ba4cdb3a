/**
 * The PeerJS `token` this replica registers its peer id with. The signaling server keeps a
 * departed member's id for the token it registered with (peer-server/id-reservations.ts), so the
 * token must be one that only this member can present: a token derived from the room token alone
 * would let every other member take this member's id while it is away (docs/security.md,
 * "Signaling server").
 *
 * It is an HMAC of the room id under a random secret kept with the replica: the same from every
 * tab of this origin and after a reload (so a new leader tab takes the id back at once), different
 * per room (so two rooms' servers cannot link this member), and unknown to anyone else.
 */
import { BatteryError } from '../protocol/errors.js';
import type { DurableReplica } from '../replica/contracts/replica-types.js';
import { cryptoBytes } from '../replica/contracts/signing-identity.js';
import { toHex } from './room-keys.js';

const SECRET_RECORD = 'signaling-secret';
const SECRET_BYTES = 32;

type RecordStore = Pick<DurableReplica, 'getRecord' | 'putRecords'>;

/** One load-or-create per replica, so two connects racing on a fresh replica agree on the secret. */
const secrets = new WeakMap<RecordStore, Promise<Uint8Array>>();

function memberSecret(replica: RecordStore): Promise<Uint8Array> {
  let secret = secrets.get(replica);
  if (!secret) {
    secret = loadOrCreateSecret(replica);
    secrets.set(replica, secret);
    secret.catch(() => secrets.delete(replica));
  }
  return secret;
}

async function loadOrCreateSecret(replica: RecordStore): Promise<Uint8Array> {
  const stored = await replica.getRecord(SECRET_RECORD);
  if (stored instanceof Uint8Array && stored.length === SECRET_BYTES) return stored;
  if (stored !== undefined) throw new BatteryError('WORKER', `the stored ${SECRET_RECORD} record is not ${SECRET_BYTES} bytes`);
  const secret = globalThis.crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  await replica.putRecords([[SECRET_RECORD, secret]]);
  return secret;
}

/** 32 lowercase hex characters, stable per (replica, room). */
export async function memberSignalingToken(replica: RecordStore, roomId: string): Promise<string> {
  const subtle = globalThis.crypto.subtle;
  const key = await subtle.importKey('raw', cryptoBytes(await memberSecret(replica)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await subtle.sign('HMAC', key, new TextEncoder().encode(`rtc-battery/signaling-token/v3:${roomId}`));
  return toHex(new Uint8Array(mac).subarray(0, 16));
}
