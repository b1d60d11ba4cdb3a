/**
 * In-memory PeerLink pairs for the sync tests: ordered, asynchronous delivery (a pump moves at
 * most `bytesPerTick` per macrotask, so bufferedAmount really grows and drains), close on both
 * ends, a log of every frame each side sent, and an interceptor to tamper, drop or replay frames.
 */
import type { PeerLink } from '../../../../shared-worker/protocol/peer-link.js';

export interface LinkPairOptions {
  bytesPerTick?: number;
  /** onDrain fires when the queue falls to or below this after having been above it. */
  lowWaterBytes?: number;
}

type Side = 'a' | 'b';

interface MemoryLink extends PeerLink {
  readonly sent: Uint8Array[];
  readonly closed: boolean;
  /** Highest bufferedAmount ever observed right after a send. */
  readonly maxBuffered: number;
}

export interface LinkPair {
  a: MemoryLink;
  b: MemoryLink;
  /** Sees every frame on its way from `from`; returns the frames to deliver instead (default: the frame). */
  intercept: ((from: Side, frame: Uint8Array) => Uint8Array[]) | null;
  /** Injects a raw frame as if `from` had sent it. */
  inject(from: Side, frame: Uint8Array): void;
  close(reason?: string): void;
}

let nextLinkId = 0;

export function createLinkPair(aPeerId: string, bPeerId: string, options: LinkPairOptions = {}): LinkPair {
  const bytesPerTick = options.bytesPerTick ?? 256 * 1024;
  const lowWater = options.lowWaterBytes ?? 256 * 1024;
  let closed = false;
  const ends = { a: makeEnd('a', bPeerId, true), b: makeEnd('b', aPeerId, false) };

  function makeEnd(side: Side, remotePeerId: string, initiator: boolean) {
    const frameListeners: Array<(f: Uint8Array) => void> = [];
    const drainListeners: Array<() => void> = [];
    const closeListeners: Array<(r?: string) => void> = [];
    const queue: Uint8Array[] = [];
    let buffered = 0;
    let aboveLow = false;
    let pumping = false;
    const sent: Uint8Array[] = [];
    let maxBuffered = 0;

    const pump = () => {
      pumping = false;
      if (closed) return;
      let moved = 0;
      const other = ends[side === 'a' ? 'b' : 'a'];
      while (queue.length > 0 && moved < bytesPerTick) {
        const f = queue.shift()!;
        moved += f.length;
        buffered -= f.length;
        other.deliver(f);
        if (closed) return;
      }
      if (aboveLow && buffered <= lowWater) {
        aboveLow = false;
        for (const l of drainListeners) l();
      }
      if (queue.length > 0) schedule();
    };
    const schedule = () => {
      if (!pumping) {
        pumping = true;
        setTimeout(pump, 0);
      }
    };

    const link: MemoryLink & { deliver(f: Uint8Array): void; enqueue(f: Uint8Array): void; fireClose(r?: string): void } = {
      id: `mem-${nextLinkId++}`,
      remotePeerId,
      initiator,
      sent,
      get closed() {
        return closed;
      },
      get maxBuffered() {
        return maxBuffered;
      },
      send(frame) {
        if (closed) return;
        sent.push(frame.slice());
        const out = pair.intercept ? pair.intercept(side, frame.slice()) : [frame.slice()];
        for (const f of out) link.enqueue(f);
        maxBuffered = Math.max(maxBuffered, buffered);
      },
      enqueue(f) {
        queue.push(f);
        buffered += f.length;
        if (buffered > lowWater) aboveLow = true;
        schedule();
      },
      bufferedAmount: () => buffered,
      close(reason) {
        pair.close(reason);
      },
      onFrame: (l) => void frameListeners.push(l),
      onDrain: (l) => void drainListeners.push(l),
      onClose: (l) => void closeListeners.push(l),
      deliver(f) {
        for (const l of frameListeners) l(f);
      },
      fireClose(r) {
        for (const l of closeListeners) l(r);
      },
    };
    return link;
  }

  const pair: LinkPair = {
    a: ends.a,
    b: ends.b,
    intercept: null,
    inject(from, frame) {
      ends[from].enqueue(frame);
    },
    close(reason) {
      if (closed) return;
      closed = true;
      ends.a.fireClose(reason);
      ends.b.fireClose(reason);
    },
  };
  return pair;
}
