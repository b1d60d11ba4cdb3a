/**
 * Dedicated mode's tab↔host transport: one BroadcastChannel per dbName carries the ordinary
 * tab↔worker messages between non-hosting tabs and the hosting tab, which forwards each tab's
 * traffic to its dedicated worker through a MessagePort of its own. Envelopes name the sender
 * and the host they are meant for, so traffic for a previous host is ignored by everyone.
 */
import type { WirePort } from '../shared-worker/protocol/worker-protocol.js';

export type RelayEnvelope =
  /** The host announces itself (on start and in answer to who-hosts). */
  | { t: 'host-up'; host: string }
  | { t: 'who-hosts'; from: string }
  | { t: 'to-host'; host: string; from: string; msg: unknown }
  | { t: 'to-tab'; host: string; to: string; msg: unknown };

/** The slice of BroadcastChannel used here (and faked in Node tests). */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (e: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (e: { data: unknown }) => void): void;
  close(): void;
}

export function relayChannelName(dbName: string): string {
  return `rtc-battery:relay:${dbName}`;
}

export function isEnvelope(x: unknown): x is RelayEnvelope {
  if (typeof x !== 'object' || x === null) return false;
  const t = (x as { t?: unknown }).t;
  return t === 'host-up' || t === 'who-hosts' || t === 'to-host' || t === 'to-tab';
}

/** A non-hosting tab's port to the worker behind `host`. */
export function followerPort(channel: ChannelLike, tabId: string, host: string): WirePort {
  let handler: ((m: unknown) => void) | null = null;
  const closeHandlers: Array<() => void> = [];
  let closed = false;
  const listener = (e: { data: unknown }) => {
    const d = e.data;
    if (closed || !isEnvelope(d) || d.t !== 'to-tab' || d.to !== tabId || d.host !== host) return;
    handler?.(d.msg);
  };
  channel.addEventListener('message', listener);
  return {
    post(msg) {
      if (!closed) channel.postMessage({ t: 'to-host', host, from: tabId, msg } satisfies RelayEnvelope);
    },
    listen(h) {
      handler = h;
    },
    onClose(h) {
      closeHandlers.push(h);
    },
    close() {
      if (closed) return;
      closed = true;
      channel.removeEventListener('message', listener);
      for (const h of closeHandlers) h();
    },
  };
}

/**
 * The hosting tab's relay: for each tab that writes to it, a port pair into the worker
 * (`openPort`), with the worker's answers broadcast back addressed to that tab.
 */
export class HostRelay {
  private readonly ports = new Map<string, WirePort>();
  private readonly listener = (e: { data: unknown }) => this.onEnvelope(e.data);
  private stopped = false;

  constructor(
    private readonly channel: ChannelLike,
    private readonly host: string,
    private readonly openPort: (tabId: string) => WirePort,
  ) {
    channel.addEventListener('message', this.listener);
    this.announce();
  }

  announce(): void {
    if (!this.stopped) this.channel.postMessage({ t: 'host-up', host: this.host } satisfies RelayEnvelope);
  }

  /** A relayed tab is gone (its lock was released): drop its port. */
  forget(tabId: string): void {
    this.ports.get(tabId)?.close();
    this.ports.delete(tabId);
  }

  get relayedTabs(): number {
    return this.ports.size;
  }

  stop(): void {
    this.stopped = true;
    this.channel.removeEventListener('message', this.listener);
    for (const p of this.ports.values()) p.close();
    this.ports.clear();
  }

  private onEnvelope(d: unknown): void {
    if (this.stopped || !isEnvelope(d)) return;
    if (d.t === 'who-hosts') {
      this.announce();
      return;
    }
    if (d.t !== 'to-host' || d.host !== this.host || typeof d.from !== 'string') return;
    let port = this.ports.get(d.from);
    if (!port) {
      const tabId = d.from;
      port = this.openPort(tabId);
      port.listen((msg) => {
        if (!this.stopped) this.channel.postMessage({ t: 'to-tab', host: this.host, to: tabId, msg } satisfies RelayEnvelope);
      });
      this.ports.set(tabId, port);
    }
    port.post(d.msg);
  }
}
