/**
 * Receiver-paced sending of data messages (delta pieces and live batches). The receiver acks
 * every data message it has handled with a running count; the sender keeps at most `size`
 * unacknowledged. Without it a fast sender streams a whole delta into the receiver, whose
 * applies (synchronous sql.js merges) are the slow part, and every decoded piece waits in the
 * worker's memory: ~1 GB of JS objects for a million rows. With 8 pieces of ~2000 rows in flight
 * the receiver never idles on a LAN round trip and holds a few MB.
 */
export class SendWindow {
  private sent = 0;
  private acked = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly size: number) {}

  /** Resolves true once another message may go out (and counts it), false if closed meanwhile. */
  async acquire(): Promise<boolean> {
    while (!this.closed && this.sent - this.acked >= this.size) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) return false;
    this.sent++;
    return true;
  }

  /** The receiver's running count of handled data messages (a count above what we sent is ignored). */
  acknowledge(count: number): void {
    if (count <= this.acked) return;
    this.acked = Math.min(count, this.sent);
    this.wake();
  }

  sentCount(): number {
    return this.sent;
  }

  ackedCount(): number {
    return this.acked;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
