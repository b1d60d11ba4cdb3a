/**
 * The worker's side of a DataConnection held by the leader tab: frames go out as `link-send`
 * messages to the leader and come back as `link-frame`. The leader reports back-pressure with
 * `link-drain {consumed, bufferedAmount}`; bytes posted but not yet consumed count as buffered,
 * so a sender that respects bufferedAmount() cannot flood the tab's message queue either.
 */
import { LinkListeners } from '../protocol/link-listeners.js';
import type { PeerLink } from '../protocol/peer-link.js';

/**
 * Water marks for onDrain. 1 MiB / 256 KiB: a few 64 KiB frames in flight keep a DataChannel
 * busy, and Chrome closes a channel whose send buffer passes 16 MiB.
 */
export const RELAY_HIGH_WATER = 1 << 20;
const RELAY_LOW_WATER = 256 << 10;

export class RelayedLink extends LinkListeners implements PeerLink {
  private sent = 0;
  private consumed = 0;
  private leaderBuffered = 0;
  private aboveHigh = false;

  constructor(
    readonly id: string,
    readonly remotePeerId: string,
    readonly initiator: boolean,
    private readonly out: {
      send(linkId: string, bytes: Uint8Array): void;
      close(linkId: string, reason?: string): void;
    },
  ) {
    super();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.sent += frame.byteLength;
    if (this.bufferedAmount() >= RELAY_HIGH_WATER) this.aboveHigh = true;
    this.out.send(this.id, frame);
  }

  bufferedAmount(): number {
    return this.sent - this.consumed + this.leaderBuffered;
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.out.close(this.id, reason);
    this.finish(reason);
  }

  // ------------------------------------------------ called by the hub on leader messages

  deliver(frame: Uint8Array): void {
    if (this.closed) return;
    this.emitFrame(frame);
  }

  reportDrain(consumed: number, bufferedAmount: number): void {
    if (this.closed) return;
    this.consumed = Math.min(Math.max(this.consumed, consumed), this.sent);
    this.leaderBuffered = bufferedAmount;
    if (this.aboveHigh && this.bufferedAmount() < RELAY_LOW_WATER) {
      this.aboveHigh = false;
      this.emitDrain();
    }
  }

  /** The leader reported the connection closed, or the leader itself went away. */
  finish(reason?: string): void {
    this.markClosed(reason);
  }
}
