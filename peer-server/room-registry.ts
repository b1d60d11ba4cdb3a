import { parsePeerId } from '../shared-worker/protocol/ids.js';

/**
 * Who is connected, by room. Fed from the PeerServer's own `connection`/`disconnect` events, so
 * it mirrors npm `peer`'s realm (one client object per id) rather than counting sockets: a PeerJS
 * client that reconnects with the same id and token is re-attached, not added twice.
 *
 * `owner` is the realm's client object. A disconnect only removes an id if it still belongs to
 * the same owner, because a stale client's late disconnect must not evict a newer one that has
 * since taken the id.
 */
export class RoomRegistry<Owner = unknown> {
  private readonly rooms = new Map<string, Map<string, Owner>>();
  private peerCount = 0;

  add(peerId: string, owner: Owner): void {
    const parsed = parsePeerId(peerId);
    if (!parsed) return;
    let room = this.rooms.get(parsed.roomId);
    if (!room) {
      room = new Map();
      this.rooms.set(parsed.roomId, room);
    }
    if (!room.has(peerId)) this.peerCount += 1;
    room.set(peerId, owner);
  }

  /** Returns true if the id was removed. */
  remove(peerId: string, owner: Owner): boolean {
    const parsed = parsePeerId(peerId);
    if (!parsed) return false;
    const room = this.rooms.get(parsed.roomId);
    if (!room || room.get(peerId) !== owner) return false;
    room.delete(peerId);
    this.peerCount -= 1;
    if (room.size === 0) this.rooms.delete(parsed.roomId);
    return true;
  }

  /** The realm client registered under `peerId`, if any. */
  ownerOf(peerId: string): Owner | undefined {
    const parsed = parsePeerId(peerId);
    return parsed === null ? undefined : this.rooms.get(parsed.roomId)?.get(peerId);
  }

  has(peerId: string): boolean {
    const parsed = parsePeerId(peerId);
    return parsed !== null && (this.rooms.get(parsed.roomId)?.has(peerId) ?? false);
  }

  /** Sorted, so the listing reveals nothing about join order. */
  members(roomId: string): string[] {
    return [...(this.rooms.get(roomId)?.keys() ?? [])].sort();
  }

  roomSize(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  get peers(): number {
    return this.peerCount;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  clear(): void {
    this.rooms.clear();
    this.peerCount = 0;
  }
}
