/**
 * A peer id whose socket closed stays bound to its PeerJS token for a while, so only its holder
 * can take it back. Without this, anyone who knows a room id (and so its members' ids, from the
 * listing) could register a member's id the moment its socket dropped, and the member would get
 * `ID-TAKEN` until the squatter left. rtc-battery clients send a token of their own (an HMAC of
 * the room id under a secret kept with the replica, docs/security.md), the same from every tab
 * and after a reload, so an honest client always matches its own reservation and no other member
 * can.
 *
 * Bounded twice, without ever evicting a reservation (an eviction could be forced to free a
 * victim's id): an address that already holds `perAddress` reservations makes no new ones, and
 * past `overall` nobody does. Either way the id is then just free, as before.
 */
export class IdReservations {
  private readonly byId = new Map<string, { token: string; address: string; until: number }>();
  private readonly countByAddress = new Map<string, number>();

  constructor(
    private readonly holdMs: number,
    private readonly perAddress: number,
    private readonly overall: number,
    private readonly now: () => number,
  ) {}

  /** The holder of `id` (connected from `address`) left; keep the id for `token`. */
  hold(id: string, token: string, address: string): void {
    this.expire();
    this.release(id);
    if (this.holdMs === 0 || this.byId.size >= this.overall || (this.countByAddress.get(address) ?? 0) >= this.perAddress) return;
    this.byId.set(id, { token, address, until: this.now() + this.holdMs });
    this.countByAddress.set(address, (this.countByAddress.get(address) ?? 0) + 1);
  }

  /** True when `id` is held for a token other than `token`. */
  heldForOther(id: string, token: string): boolean {
    this.expire();
    const held = this.byId.get(id);
    return held !== undefined && held.token !== token;
  }

  /** The id is registered again (by its holder): nothing to hold any more. */
  release(id: string): void {
    const held = this.byId.get(id);
    if (!held) return;
    this.byId.delete(id);
    const left = (this.countByAddress.get(held.address) ?? 0) - 1;
    if (left > 0) this.countByAddress.set(held.address, left);
    else this.countByAddress.delete(held.address);
  }

  get size(): number {
    this.expire();
    return this.byId.size;
  }

  clear(): void {
    this.byId.clear();
    this.countByAddress.clear();
  }

  /** Every hold lasts holdMs, so insertion order is expiry order. */
  private expire(): void {
    const t = this.now();
    for (const [id, held] of this.byId) {
      if (held.until > t) break;
      this.release(id);
    }
  }
}
