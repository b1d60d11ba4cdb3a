/**
 * Runs callbacks in a later macrotask, as soon as the event loop gets to it, in order. setTimeout(0)
 * waits for the timer queue and is clamped to 4 ms once timers nest more than 5 deep (HTML
 * "timer initialisation steps"); a MessageChannel message is not. Browsers and Node both have
 * MessageChannel, so the Node suites run the path the worker takes.
 */

/** Node's MessagePort keeps the process alive while it listens; browsers' ports have no ref/unref. */
interface RefPort {
  ref?(): void;
  unref?(): void;
}

export interface MacrotaskEnv {
  MessageChannel?: typeof MessageChannel;
  setTimeout(fn: () => void, ms: number): unknown;
}

export class MacrotaskQueue {
  private channel: MessageChannel | null = null;
  private readonly tasks: Array<() => void> = [];

  constructor(private readonly env: MacrotaskEnv = globalThis) {}

  schedule(fn: () => void): void {
    const Channel = this.env.MessageChannel;
    if (!Channel) {
      this.env.setTimeout(fn, 0);
      return;
    }
    if (!this.channel) {
      this.channel = new Channel();
      this.channel.port1.onmessage = () => this.runNext();
    }
    this.tasks.push(fn);
    // Hold the process open only while a task waits: an idle queue must not keep Node alive.
    if (this.tasks.length === 1) (this.channel.port1 as RefPort).ref?.();
    this.channel.port2.postMessage(null);
  }

  private runNext(): void {
    const fn = this.tasks.shift();
    if (this.tasks.length === 0) (this.channel!.port1 as RefPort).unref?.();
    fn?.();
  }
}
