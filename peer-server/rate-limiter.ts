/**
 * Requests per remote address, as a token bucket: `burst` tokens, refilled at `perSecond`.
 * Buckets that are full again are forgotten, so the map holds only recently busy addresses.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  /** 0 when the request may go ahead (and is counted), else the milliseconds until it could. */
  take(address: string): number {
    const now = this.now();
    const bucket = this.buckets.get(address) ?? { tokens: this.burst, at: now };
    const tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.perSecond) / 1000);
    if (tokens < 1) {
      this.buckets.set(address, { tokens, at: now });
      return Math.ceil(((1 - tokens) * 1000) / this.perSecond);
    }
    this.buckets.set(address, { tokens: tokens - 1, at: now });
    if (this.buckets.size > 10_000) this.forgetFull(now);
    return 0;
  }

  private forgetFull(now: number): void {
    for (const [address, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.perSecond) / 1000 >= this.burst) this.buckets.delete(address);
    }
  }
}
