/**
 * Per-socket message rate and per-address queued bytes: the two things npm `peer` 1.0.2 lets a
 * client spend without bound. `now` is injected so the arithmetic is tested without waiting.
 */

/**
 * A token bucket: `burst` messages at once, refilled at `perSecond`. A PeerJS client sends one
 * OFFER and a handful of CANDIDATEs per connection it dials, plus a HEARTBEAT every 5 s, so even
 * a newcomer dialing a full room (31 members) stays well inside the default burst.
 */
export class MessageRate {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** False when the message is over the rate. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, t - this.last) * this.perSecond) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * `peer` queues a relayed message whose recipient is not connected, and drops the queue once it
 * has gone unread for `expire_timeout` (5 s), checked by a sweep every `cleanup_out_msgs` (1 s).
 * So a queued message is gone at most this long after it was queued. Counting each one for the
 * full hold over-counts when its recipient connects early, which only makes the cap stricter.
 */
export const QUEUE_HOLD_MS = 5_000 + 1_000;

/**
 * Bytes of messages sent to absent recipients in the last QUEUE_HOLD_MS, per client address and
 * in total. Per address rather than per socket, so reconnecting does not reset a budget; the
 * total bounds what many addresses together can make the server hold.
 */
export class QueuedBytesMeter {
  private readonly entries: Array<{ address: string; bytes: number; until: number }> = [];
  private head = 0;
  private readonly byAddress = new Map<string, number>();
  private sum = 0;

  constructor(
    private readonly perAddress: number,
    private readonly overall: number,
    private readonly now: () => number,
  ) {}

  /** Records `bytes` queued for `address`; false (and nothing recorded) when a cap would be exceeded. */
  add(address: string, bytes: number): boolean {
    const t = this.now();
    this.expire(t);
    const mine = this.byAddress.get(address) ?? 0;
    if (mine + bytes > this.perAddress || this.sum + bytes > this.overall) return false;
    this.byAddress.set(address, mine + bytes);
    this.sum += bytes;
    this.entries.push({ address, bytes, until: t + QUEUE_HOLD_MS });
    return true;
  }

  queued(address?: string): number {
    this.expire(this.now());
    return address === undefined ? this.sum : (this.byAddress.get(address) ?? 0);
  }

  private expire(t: number): void {
    while (this.head < this.entries.length && this.entries[this.head]!.until <= t) {
      const { address, bytes } = this.entries[this.head]!;
      this.head += 1;
      const left = (this.byAddress.get(address) ?? 0) - bytes;
      if (left > 0) this.byAddress.set(address, left);
      else this.byAddress.delete(address);
      this.sum -= bytes;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}
