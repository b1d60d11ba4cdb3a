/**
 * Open signaling sockets per remote IP. The address is the TCP peer as Node sees it; behind a
 * reverse proxy every client shares the proxy's address, so raise the limit there (forwarded
 * headers are deliberately not trusted: any client can set them).
 */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  increment(address: string): void {
    this.counts.set(address, this.count(address) + 1);
  }

  decrement(address: string): void {
    const next = this.count(address) - 1;
    if (next > 0) this.counts.set(address, next);
    else this.counts.delete(address);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one client on a dual-stack socket. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
