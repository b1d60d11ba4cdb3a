import { parsePeerId } from '../shared-worker/protocol/ids.js';
import type { AddressCounter } from './address-counter.js';
import type { RoomRegistry } from './room-registry.js';
import type { ClientMessage } from './signaling-protocol.js';

/**
 * The server's rules, as pure decisions: who may register, and which messages it relays. The
 * messages are what a PeerJS client surfaces as its `server-error` text, so each names the rule
 * (and the limit) that was hit.
 */
export type RefusalReason = 'bad-id' | 'room-full' | 'address-limit' | 'off-protocol' | 'off-room';

export interface Refusal {
  ok: false;
  reason: RefusalReason;
  message: string;
}

export interface Admitted {
  ok: true;
  peerId: string;
  roomId: string;
}

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
): Admitted | Refusal {
  const peerId = new URL(requestUrl, 'http://localhost').searchParams.get('id') ?? '';
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
  return { ok: true, peerId, roomId: parsed.roomId };
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
