import { WebSocket } from 'ws';
import {
  encodeMailboxMessage,
  parseMailboxReply,
  MAILBOX_PROTOCOL_VERSION,
  type MailboxReply,
} from '../../../../shared-worker/protocol/mailbox-protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Body = DistributiveOmit<import('../../../../shared-worker/protocol/mailbox-protocol.js').MailboxRequest, 'id'>;

/** A bare protocol client for server tests: sends requests, collects replies and pushes. */
export class RawMailboxClient {
  readonly replies: MailboxReply[] = [];
  private nextId = 1;
  private waiters: { match: (r: MailboxReply) => boolean; resolve: (r: MailboxReply) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const parsed = parseMailboxReply(new Uint8Array(data));
      if (!parsed.ok) throw new Error(`server sent an invalid reply: ${parsed.message}`);
      this.replies.push(parsed.value);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(parsed.value)) return true;
        w.resolve(parsed.value);
        return false;
      });
    });
  }

  static async connect(url: string): Promise<RawMailboxClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawMailboxClient(ws);
  }

  /** Resolves with the first reply (already received or future) that matches. */
  waitFor(match: (r: MailboxReply) => boolean): Promise<MailboxReply> {
    const hit = this.replies.find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  request(body: Body): Promise<MailboxReply> {
    const id = this.nextId++;
    this.ws.send(encodeMailboxMessage({ ...body, id } as never));
    return this.waitFor((r) => r.t !== 'push' && r.id === id);
  }

  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  hello(key: Uint8Array): Promise<MailboxReply> {
    return this.request({ t: 'hello', v: MAILBOX_PROTOCOL_VERSION, key });
  }

  pushes(): number[] {
    return this.replies.flatMap((r) => (r.t === 'push' ? [r.seq] : []));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
