/**
 * An in-memory WirePort pair: what one side posts arrives at the other as a structured clone,
 * asynchronously (a macrotask later, like postMessage), in order.
 */
import type { WirePort } from '../../../../shared-worker/protocol/worker-protocol.js';

export interface MemoryPort<In = unknown, Out = unknown> extends WirePort<In, Out> {
  /** Every message this side posted, for assertions. */
  readonly sent: Out[];
  /** Simulates the other side vanishing without a word (a killed worker or tab). */
  sever(): void;
}

export function memoryPortPair<A = unknown, B = unknown>(): [MemoryPort<B, A>, MemoryPort<A, B>] {
  let severed = false;
  const make = <In, Out>() => {
    let handler: ((m: In) => void) | null = null;
    const closeHandlers: Array<() => void> = [];
    const port = {
      sent: [] as Out[],
      peer: null as null | { deliver(m: unknown): void; closed(): void },
      deliver(m: unknown) {
        setImmediate(() => {
          if (!severed) handler?.(m as In);
        });
      },
      closed() {
        for (const h of closeHandlers) h();
      },
      post(m: Out) {
        if (severed) return;
        port.sent.push(m);
        port.peer!.deliver(structuredClone(m));
      },
      listen(h: (m: In) => void) {
        handler = h;
      },
      onClose(h: () => void) {
        closeHandlers.push(h);
      },
      close() {
        if (severed) return;
        severed = true;
        setImmediate(() => port.peer!.closed());
      },
      sever() {
        severed = true;
      },
    };
    return port;
  };
  const a = make<B, A>();
  const b = make<A, B>();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Waits until the macrotask queue has drained a few times (messages are delivered by setImmediate). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
