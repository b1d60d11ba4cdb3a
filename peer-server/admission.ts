import { parsePeerId } from '../shared-worker/protocol/ids.js';
import type { AddressCounter } from './address-counter.js';
import type { RoomRegistry } from './room-registry.js';
import type { ClientMessage } from './signaling-protocol.js';

/**
 * The server's rules, as pure decisions: who may register, and which messages it relays. The
 * messages are what a PeerJS client surfaces as its `server-error` text, so each names the rule
 * (and the limit) that was hit.
 */
export type RefusalReason =
  | 'bad-query'
  | 'bad-id'
  | 'room-full'
  | 'id-held'
  | 'address-limit'
  | 'off-protocol'
  | 'off-room'
  | 'rate-limit'
  | 'queue-limit';

export interface Refusal {
  ok: false;
  reason: RefusalReason;
  message: string;
  /** Answer as `peer` answers a taken id (`ID-TAKEN`), so a PeerJS client retries as it would then. */
  idTaken?: true;
}

/** Ids held for the token of a holder that just left (id-reservations.ts). */
export interface HeldIds {
  heldForOther(id: string, token: string): boolean;
}

export interface Admitted {
  ok: true;
  peerId: string;
  roomId: string;
}

const NOTHING_HELD: HeldIds = { heldForOther: () => false };

/**
 * The PeerJS token is kept with the id while its client is connected and for the hold after it
 * left (id-reservations.ts), so its length is what a held id costs. PeerJS makes ~11 characters,
 * rtc-battery members 32; without a bound a 16 KB query string made each of the 100,000 held ids
 * cost 16 KB instead of ~200 bytes.
 */
const MAX_TOKEN_LENGTH = 128;

export interface AdmissionLimits {
  maxPeersPerRoom: number;
  maxConnectionsPerAddress: number;
}

export function admitConnection(
  requestUrl: string,
  address: string,
  registry: RoomRegistry<unknown>,
  addresses: AddressCounter,
  limits: AdmissionLimits,
  held: HeldIds = NOTHING_HELD,
): Admitted | Refusal {
  const params = new URL(requestUrl, 'http://localhost').searchParams;
  const repeated = firstRepeatedName(params);
  if (repeated !== undefined) {
    return refuse('bad-query', `query parameter ${JSON.stringify(repeated.slice(0, 40))} is repeated`);
  }
  if ((params.get('token') ?? '').length > MAX_TOKEN_LENGTH) {
    return refuse('bad-query', `token longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  const peerId = params.get('id') ?? '';
  const parsed = parsePeerId(peerId);
  if (!parsed) {
    return refuse('bad-id', 'peer id must be <room id: 32 lowercase hex>-<node id: 16 lowercase hex>');
  }
  if (addresses.count(address) >= limits.maxConnectionsPerAddress) {
    return refuse(
      'address-limit',
      `too many connections from this address (maxConnectionsPerAddress = ${limits.maxConnectionsPerAddress})`,
    );
  }
  // A known id is a reconnect (same token: `peer` re-attaches it) or a clash (`peer` answers
  // ID-TAKEN); neither adds a member, so neither is counted against the room.
  if (!registry.has(peerId) && registry.roomSize(parsed.roomId) >= limits.maxPeersPerRoom) {
    return refuse('room-full', `room is full (maxPeersPerRoom = ${limits.maxPeersPerRoom})`);
  }
  if (!registry.has(peerId) && held.heldForOther(peerId, params.get('token') ?? '')) {
    return { ok: false, reason: 'id-held', message: 'ID is taken', idTaken: true };
  }
  return { ok: true, peerId, roomId: parsed.roomId };
}

/**
 * We read a parameter's first value and npm `peer` reads its last (`Object.fromEntries`), so a
 * repeated `id` would let a client register an id we never checked (another room's, `__proto__`,
 * 4,000 characters). PeerJS sends each parameter once; any repeat is refused. Names are compared
 * decoded, as both readers see them (`%69d` is `id`).
 */
function firstRepeatedName(params: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/**
 * Signaling is relayed only inside the sender's room. `peer` itself relays to any id and queues
 * messages for unknown ids for 5 s, so without this a client could reach (or fill queues for)
 * peers of rooms it cannot even list.
 */
export function screenMessage(message: ClientMessage | null, senderRoomId: string): Refusal | null {
  if (message === null) return refuse('off-protocol', 'malformed signaling message');
  switch (message.type) {
    case 'HEARTBEAT':
      return null;
    case 'OFFER':
    case 'ANSWER':
    case 'CANDIDATE':
    case 'LEAVE':
      return parsePeerId(message.dst)?.roomId === senderRoomId
        ? null
        : refuse('off-room', 'signaling is relayed only between peers of the same room');
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}

function refuse(reason: RefusalReason, text: string): Refusal {
  return { ok: false, reason, message: `rtc-battery: ${text}` };
}
