/**
 * A PeerJS DataConnection (`serialization: 'raw'`) as a PeerLink, in the leader tab. Frames go
 * straight to the RTCDataChannel: PeerJS's own send queue only kicks in above 8 MiB and reports
 * nothing, so the link does its own accounting and exposes the channel's real bufferedAmount.
 *
 * Incoming data is checked at the boundary: anything but a binary message of at most
 * MAX_FRAME_BYTES closes this link (and only this one) before it reaches the worker.
 */
import { MAX_FRAME_BYTES } from '../../shared-worker/protocol/limits.js';
import { LinkListeners } from '../../shared-worker/protocol/link-listeners.js';
import type { PeerLink } from '../../shared-worker/protocol/peer-link.js';
import type { DataChannelLike, DataConnectionLike } from './peerjs-seam.js';

/**
 * `bufferedamountlow` fires when the channel drains below this: 256 KiB is four 64 KiB frames,
 * enough to keep SCTP busy while the next batch is posted from the worker.
 */
export const CHANNEL_LOW_WATER = 256 * 1024;
/**
 * Above this the link holds frames itself instead of calling send(): Chrome closes a data
 * channel whose send buffer would pass 16 MiB (RTCDataChannel "send queue full" → close).
 */
export const CHANNEL_HARD_LIMIT = 8 * 1024 * 1024;

export class DataConnectionLink extends LinkListeners implements PeerLink {
  readonly remotePeerId: string;
  private readonly held: Uint8Array[] = [];
  private heldBytes = 0;

  constructor(
    readonly id: string,
    private readonly connection: DataConnectionLike,
    private readonly channel: DataChannelLike,
    readonly initiator: boolean,
  ) {
    super();
    this.remotePeerId = connection.peer;
    channel.bufferedAmountLowThreshold = CHANNEL_LOW_WATER;
    channel.addEventListener('bufferedamountlow', () => this.onLow());
    connection.on('data', (data) => this.onData(data));
    connection.on('close', () => this.finish('connection closed'));
    connection.on('error', (e) => this.close(`connection error: ${e.type}`));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.held.length > 0 || this.channel.bufferedAmount + frame.byteLength > CHANNEL_HARD_LIMIT) {
      this.held.push(frame);
      this.heldBytes += frame.byteLength;
      return;
    }
    this.transmit(frame);
  }

  bufferedAmount(): number {
    return this.channel.bufferedAmount + this.heldBytes;
  }

  close(reason?: string): void {
    if (this.closed) return;
    // finish first: PeerJS emits 'close' synchronously, which must not overwrite our reason.
    this.finish(reason);
    try {
      this.connection.close();
    } catch {
      // already torn down by PeerJS
    }
  }

  private transmit(frame: Uint8Array): void {
    try {
      this.channel.send(frame);
    } catch (e) {
      // InvalidStateError (channel closing) or OperationError (buffer full): the link is unusable.
      this.close(`send failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private onLow(): void {
    if (this.closed) return;
    while (this.held.length > 0 && this.channel.bufferedAmount + this.held[0]!.byteLength <= CHANNEL_HARD_LIMIT) {
      const frame = this.held.shift()!;
      this.heldBytes -= frame.byteLength;
      this.transmit(frame);
      if (this.closed) return;
    }
    this.emitDrain();
  }

  private onData(data: unknown): void {
    if (this.closed) return;
    let frame: Uint8Array;
    if (data instanceof ArrayBuffer) frame = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return this.close('malformed frame: not binary');
    if (frame.byteLength === 0 || frame.byteLength > MAX_FRAME_BYTES) {
      return this.close(`malformed frame: ${frame.byteLength} bytes (limit ${MAX_FRAME_BYTES})`);
    }
    this.emitFrame(frame);
  }

  private finish(reason?: string): void {
    if (this.closed) return;
    this.held.length = 0;
    this.heldBytes = 0;
    this.markClosed(reason);
  }
}
