/**
 * Messages on an authenticated link: msgpack-encoded, sealed (sealed-channel.ts) as one unit, then
 * cut into frames of at most 64 KiB with a 12-byte header [message id u32][index u32][count u32].
 *
 * Why 64 KiB (MAX_FRAME_BYTES, protocol/limits.ts): the wire caps frames there, and SCTP data channels between browsers do not reliably
 * carry big messages — PeerJS notes 60000-byte messages cut off after 16384 bytes between Firefox
 * and Chrome (binaryPackChunker.ts), and Chrome's own limit is 256 KiB. 64 KiB passes everywhere
 * that matters and keeps the per-frame overhead at 12 / 65536 = 0.02%.
 *
 * A sender never interleaves messages (one queue, in seal order), so a well-behaved peer has at
 * most one partial message at a time; the reassembly caps exist for the other kind of peer.
 */
import { MAX_FRAME_BYTES } from '../protocol/limits.js';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { BatteryError } from '../protocol/errors.js';
import { negativeZeroCodec } from '../replica/contracts/msgpack-negative-zero.js';
import type { PeerLink } from '../protocol/peer-link.js';
import { checkMsgpackShape } from './msgpack-guard.js';
import type { SealedChannel } from './sealed-channel.js';

export const FRAME_HEADER_BYTES = 12;

export interface FramingLimits {
  /** Largest frame we send or accept, header included. */
  maxFrameBytes: number;
  /** Largest sealed message we reassemble (a multi-MB delta piece fits; a hostile 4 GB one does not). */
  maxMessageBytes: number;
  /** Partial messages held at once. */
  maxPartialMessages: number;
  /** Pause sending while the link has more than this many bytes queued. */
  highWaterBytes: number;
}

export const DEFAULT_FRAMING_LIMITS: FramingLimits = {
  maxFrameBytes: MAX_FRAME_BYTES,
  maxMessageBytes: 64 * 1024 * 1024,
  maxPartialMessages: 2,
  // ~16 frames in flight: enough to keep an SCTP association busy, small enough to stay responsive.
  highWaterBytes: 1024 * 1024,
};

/**
 * msgpack decoder bounds: a hostile length prefix must not allocate before the data is there.
 * These bound each header alone; checkMsgpackShape (msgpack-guard.ts) bounds them together.
 * Extensions: only the empty -0 marker (msgpack-negative-zero.ts).
 */
const DECODE_LIMITS = {
  maxStrLength: 16 * 1024 * 1024,
  maxBinLength: 16 * 1024 * 1024,
  maxArrayLength: 4 * 1024 * 1024,
  maxMapLength: 1024 * 1024,
  maxExtLength: 0,
};
// Encoder.encode returns a copy, so a message stays intact while it waits to be sealed.
const encoder = new Encoder({ extensionCodec: negativeZeroCodec });
const decoder = new Decoder({ ...DECODE_LIMITS, extensionCodec: negativeZeroCodec });

function badFrame(message: string, detail?: Record<string, unknown>): never {
  throw new BatteryError('BAD_OP', message, detail);
}

/** Encodes, seals and sends messages in order, pausing while the link is above its high-water mark. */
export class FrameWriter {
  private tail: Promise<void> = Promise.resolve();
  private nextMessageId = 0;
  private drainWaiters: Array<() => void> = [];
  private closed = false;
  private queued = 0;
  private readonly limits: FramingLimits;
  /** Bytes handed to the link so far (frames + headers): what the benchmark reports per row. */
  bytesSent = 0;

  constructor(
    private readonly link: PeerLink,
    private readonly channel: SealedChannel,
    limits: Partial<FramingLimits> = {},
  ) {
    this.limits = { ...DEFAULT_FRAMING_LIMITS, ...limits };
    link.onDrain(() => this.wakeDrainWaiters());
    link.onClose(() => {
      this.closed = true;
      this.wakeDrainWaiters();
    });
  }

  /** Queues a message; resolves once all its frames are handed to the link (rejects if the link closed). */
  send(message: unknown): Promise<void> {
    this.queued++;
    const run = this.tail.then(() => this.write(message)).finally(() => { this.queued--; });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Messages queued and not yet handed to the link in full (a peer that stops reading grows this). */
  queuedMessages(): number {
    return this.queued;
  }

  private async write(message: unknown): Promise<void> {
    if (this.closed) throw new BatteryError('CLOSED', 'link closed');
    const sealed = await this.channel.seal(encoder.encode(message));
    const payload = this.limits.maxFrameBytes - FRAME_HEADER_BYTES;
    const count = Math.max(1, Math.ceil(sealed.length / payload));
    const id = this.nextMessageId;
    this.nextMessageId = (this.nextMessageId + 1) >>> 0;
    for (let index = 0; index < count; index++) {
      while (!this.closed && this.link.bufferedAmount() > this.limits.highWaterBytes) {
        await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      }
      if (this.closed) throw new BatteryError('CLOSED', 'link closed');
      const body = sealed.subarray(index * payload, Math.min(sealed.length, (index + 1) * payload));
      const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
      const view = new DataView(frame.buffer);
      view.setUint32(0, id);
      view.setUint32(4, index);
      view.setUint32(8, count);
      frame.set(body, FRAME_HEADER_BYTES);
      this.link.send(frame);
      this.bytesSent += frame.length;
    }
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

interface Partial_ {
  count: number;
  next: number;
  bytes: number;
  chunks: Uint8Array[];
}

/**
 * Reassembles frames into messages, opens and decodes them. Throws BAD_OP when a cap is exceeded
 * or a frame is malformed, AUTH when a message fails to open; either way the caller drops the link.
 * Frames of one message must arrive in order (the link is ordered), so a gap is an error too.
 */
export class FrameReader {
  private readonly partials = new Map<number, Partial_>();
  private readonly limits: FramingLimits;

  constructor(
    private readonly channel: SealedChannel,
    limits: Partial<FramingLimits> = {},
  ) {
    this.limits = { ...DEFAULT_FRAMING_LIMITS, ...limits };
  }

  /** Feeds one frame; resolves to the decoded (not yet validated) message when it completes one. */
  async push(frame: Uint8Array): Promise<{ message: unknown } | null> {
    const sealed = this.reassemble(frame);
    if (sealed === null) return null;
    const plain = await this.channel.open(sealed);
    checkMsgpackShape(plain); // before decode: it preallocates every array/map header it reads
    try {
      return { message: decoder.decode(plain) };
    } catch (e) {
      badFrame(`undecodable message: ${(e as Error).message}`);
    }
  }

  private reassemble(frame: Uint8Array): Uint8Array | null {
    const { maxFrameBytes, maxMessageBytes, maxPartialMessages } = this.limits;
    if (frame.length <= FRAME_HEADER_BYTES || frame.length > maxFrameBytes) {
      badFrame(`frame of ${frame.length} bytes outside (${FRAME_HEADER_BYTES}, ${maxFrameBytes}]`);
    }
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const id = view.getUint32(0);
    const index = view.getUint32(4);
    const count = view.getUint32(8);
    const maxFrames = Math.ceil(maxMessageBytes / (maxFrameBytes - FRAME_HEADER_BYTES));
    if (count === 0 || count > maxFrames) badFrame(`message of ${count} frames exceeds the cap of ${maxFrames}`, { limit: 'maxFrames' });
    const body = frame.subarray(FRAME_HEADER_BYTES);
    let partial = this.partials.get(id);
    if (partial === undefined) {
      if (index !== 0) badFrame(`frame ${index} of unknown message ${id}`);
      if (count === 1) return body;
      if (this.partials.size >= maxPartialMessages) {
        badFrame(`more than ${maxPartialMessages} partial messages`, { limit: 'maxPartialMessages' });
      }
      partial = { count, next: 0, bytes: 0, chunks: [] };
      this.partials.set(id, partial);
    }
    if (index !== partial.next || count !== partial.count) badFrame(`frame ${index}/${count} out of order for message ${id}`);
    partial.bytes += body.length;
    if (partial.bytes > maxMessageBytes) badFrame(`message larger than ${maxMessageBytes} bytes`, { limit: 'maxMessageBytes' });
    partial.chunks.push(body.slice());
    partial.next++;
    if (partial.next < partial.count) return null;
    this.partials.delete(id);
    const out = new Uint8Array(partial.bytes);
    let at = 0;
    for (const c of partial.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
