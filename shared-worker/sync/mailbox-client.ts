/**
 * One WebSocket to the mailbox, spoken in mailbox-protocol.ts: requests with ids, replies
 * matched to them, pushes handed to `onPush`. The socket comes from a factory (the browser's
 * WebSocket in the worker, `ws` in Node tests), so this works in a SharedWorker and a dedicated
 * worker alike: no page is involved.
 */
import { BatteryError } from '../protocol/errors.js';
import {
  MAILBOX_PROTOCOL_VERSION,
  encodeMailboxMessage,
  parseMailboxReply,
  type MailboxReply,
  type MailboxRequest,
} from '../protocol/mailbox-protocol.js';

/** The subset of the WHATWG WebSocket this client uses. */
export interface MailboxSocket {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(): void;
}

export type MailboxSocketFactory = (url: string) => MailboxSocket;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type MailboxRequestBody = DistributiveOmit<MailboxRequest, 'id'>;
export type Welcome = Extract<MailboxReply, { t: 'welcome' }>;
type Push = Extract<MailboxReply, { t: 'push' }>;

const OPEN = 1;

export class MailboxConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: MailboxReply) => void; reject: (e: unknown) => void }>();
  private closedError: BatteryError | undefined;
  onPush: (push: Push) => void = () => {};
  onClose: (err: BatteryError) => void = () => {};

  private constructor(private readonly socket: MailboxSocket) {
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onclose = () => this.fail(new BatteryError('SIGNALING', 'the mailbox connection closed'));
    socket.onerror = () => this.fail(new BatteryError('SIGNALING', 'the mailbox connection failed'));
  }

  /** Opens the socket and the mailbox (`hello` with the access key); resolves with the welcome. */
  static async open(url: string, accessKey: Uint8Array, factory: MailboxSocketFactory): Promise<{ connection: MailboxConnection; welcome: Welcome }> {
    const socket = factory(url);
    socket.binaryType = 'arraybuffer';
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new BatteryError('SIGNALING', `cannot reach the mailbox at ${url}`));
      socket.onclose = () => reject(new BatteryError('SIGNALING', `cannot reach the mailbox at ${url}`));
    });
    const connection = new MailboxConnection(socket);
    const reply = await connection.request({ t: 'hello', v: MAILBOX_PROTOCOL_VERSION, key: accessKey });
    if (reply.t !== 'welcome') {
      connection.close();
      throw new BatteryError(reply.t === 'error' && reply.code === 'version' ? 'VERSION' : 'SIGNALING', `the mailbox refused hello: ${describe(reply)}`);
    }
    return { connection, welcome: reply };
  }

  request(body: MailboxRequestBody): Promise<MailboxReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(encodeMailboxMessage({ ...body, id } as MailboxRequest));
    });
  }

  get open(): boolean {
    return this.closedError === undefined && this.socket.readyState === OPEN;
  }

  close(): void {
    this.fail(new BatteryError('CLOSED', 'the mailbox connection was closed'));
    try {
      this.socket.close();
    } catch {
      // already closing
    }
  }

  private receive(data: unknown): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined;
    const parsed = bytes ? parseMailboxReply(bytes) : { ok: false as const, message: 'not binary' };
    if (!parsed.ok) {
      // A server that speaks nonsense is treated as gone: nothing it sends can be trusted in order.
      this.fail(new BatteryError('SIGNALING', `the mailbox sent an invalid reply: ${parsed.message}`));
      this.socket.close();
      return;
    }
    const reply = parsed.value;
    if (reply.t === 'push') {
      this.onPush(reply);
      return;
    }
    const waiter = this.pending.get(reply.id);
    if (waiter) {
      this.pending.delete(reply.id);
      waiter.resolve(reply);
    } else if (reply.t === 'error') {
      // An error for no request of ours (id 0: the server could not read one) ends the session.
      this.fail(new BatteryError('SIGNALING', `mailbox: ${reply.message}`));
      this.socket.close();
    }
  }

  private fail(err: BatteryError): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const w of this.pending.values()) w.reject(err);
    this.pending.clear();
    this.onClose(err);
  }
}

export function describe(reply: MailboxReply): string {
  return reply.t === 'error' ? `${reply.code}: ${reply.message}` : `unexpected ${reply.t}`;
}
