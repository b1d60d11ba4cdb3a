import type { WebSocket } from 'ws';
import { createHash } from 'node:crypto';
import {
  MAILBOX_PROTOCOL_VERSION,
  MAX_READ_ITEMS,
  encodeMailboxMessage,
  parseMailboxRequest,
  type MailboxErrorCode,
  type MailboxReply,
  type MailboxRequest,
} from '../../shared-worker/protocol/mailbox-protocol.js';
import type { Logger } from '../log.js';
import type { ResolvedMailboxLimits } from './mailbox-options.js';
import type { MailboxId, MailboxStore } from './mailbox-store.js';
import type { RateLimiter } from '../rate-limiter.js';

export interface SessionContext {
  store: MailboxStore;
  limits: ResolvedMailboxLimits;
  rate: RateLimiter;
  log: Logger;
  now: () => number;
  /** Called when the session opens its mailbox, so appends can find it. */
  joined(session: MailboxSession): void;
}

/** Logs carry only a prefix of the mailbox id: enough to tell mailboxes apart, not to name one. */
function redactMailbox(id: MailboxId): string {
  return `${id.slice(0, 8)}…`;
}

/**
 * One client socket. Requests run one at a time in arrival order, so acknowledgements come back
 * in order and a push never overtakes the `subscribed` it follows. A refused request (malformed,
 * out of order, over a limit) gets an `error` and changes nothing.
 */
/**
 * Unsent bytes a socket may hold before the next reply or push. A `read` of a few bytes answers
 * with up to 512 blobs, so a client that keeps asking and never reads made the server hold
 * everything it asked for. Honest clients await each reply (their buffer is empty when they ask
 * again), and a subscriber more than this behind is better off reconnecting and reading.
 */
const MAX_UNSENT_BYTES = 16 * 1024 * 1024;
/** RFC 6455 close code 1008. */
const POLICY_VIOLATION = 1008;

export class MailboxSession {
  mailbox: MailboxId | undefined;
  /** Highest seq pushed to this client; undefined until it subscribes. */
  private pushedUpTo: number | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ws: WebSocket,
    readonly address: string,
    private readonly ctx: SessionContext,
  ) {}

  onMessage(data: Uint8Array, isBinary: boolean): void {
    if (!isBinary) {
      this.error(0, 'bad-request', 'mailbox messages are binary msgpack');
      return;
    }
    const parsed = parseMailboxRequest(data);
    if (!parsed.ok) {
      this.error(0, 'bad-request', parsed.message);
      return;
    }
    const wait = this.ctx.rate.take(this.address);
    if (wait > 0) {
      this.error(parsed.value.id, 'rate', 'too many requests from this address', { retryAfterMs: wait });
      return;
    }
    this.enqueue(() => this.handle(parsed.value));
  }

  /** An append committed somewhere (this process or, with Postgres, another one). */
  notify(seq: number): void {
    if (this.pushedUpTo === undefined || seq <= this.pushedUpTo) return;
    this.enqueue(() => this.pushUpTo(seq));
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: unknown) => {
      this.ctx.log(`mailbox: store failure: ${(err as Error).message}`);
    });
  }

  private send(reply: MailboxReply): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_UNSENT_BYTES) {
      this.ctx.log(`mailbox: closed a socket from ${this.address} that is not reading (${this.ws.bufferedAmount} bytes unsent)`);
      this.ws.close(POLICY_VIOLATION, 'not reading');
      return;
    }
    this.ws.send(encodeMailboxMessage(reply));
  }

  private error(id: number, code: MailboxErrorCode, message: string, extra: { head?: number; retryAfterMs?: number } = {}): void {
    this.send({ t: 'error', id, code, message, ...extra });
  }

  private async handle(request: MailboxRequest): Promise<void> {
    try {
      await this.dispatch(request);
    } catch (err) {
      this.ctx.log(`mailbox: store failure on ${request.t}: ${(err as Error).message}`);
      this.error(request.id, 'unavailable', 'the mailbox store failed; nothing was acknowledged');
    }
  }

  private async dispatch(request: MailboxRequest): Promise<void> {
    const { store, limits, now } = this.ctx;
    if (request.t === 'hello') {
      if (request.v !== MAILBOX_PROTOCOL_VERSION) {
        this.error(request.id, 'version', `mailbox protocol ${MAILBOX_PROTOCOL_VERSION} only`);
        return;
      }
      if (this.mailbox !== undefined) {
        this.error(request.id, 'bad-request', 'hello was already sent on this socket');
        return;
      }
      const id = createHash('sha256').update(request.key).digest('hex');
      this.mailbox = id;
      await store.touch(id, now());
      const state = await store.state(id);
      this.ctx.joined(this);
      this.ctx.log(`mailbox open ${redactMailbox(id)} from ${this.address} (head ${state.head}, ${state.bytes} bytes)`);
      this.send({
        t: 'welcome',
        id: request.id,
        head: state.head,
        bytes: state.bytes,
        snapshot: state.snapshot,
        limits: { maxBlobBytes: limits.maxBlobBytes, maxSnapshotBytes: limits.maxSnapshotBytes, quotaBytes: limits.quotaBytes },
      });
      return;
    }
    const mailbox = this.mailbox;
    if (mailbox === undefined) {
      this.error(request.id, 'bad-request', 'send hello first');
      return;
    }
    switch (request.t) {
      case 'append': {
        if (request.blob.length > limits.maxBlobBytes) {
          this.error(request.id, 'too-large', `blob of ${request.blob.length} bytes is over the cap of ${limits.maxBlobBytes}`);
          return;
        }
        const outcome = await store.append(mailbox, request.seq, request.blob, limits.quotaBytes, now());
        if (outcome.ok) this.send({ t: 'ack', id: request.id, seq: request.seq });
        else if (outcome.reason === 'conflict') this.error(request.id, 'conflict', `the next position is ${outcome.head + 1}`, { head: outcome.head });
        else this.refuseQuota(request.id, mailbox, outcome.bytes, request.blob.length);
        return;
      }
      case 'read': {
        const items = await store.read(mailbox, request.after, Math.min(request.limit, MAX_READ_ITEMS));
        const { head } = await store.state(mailbox);
        this.send({ t: 'blobs', id: request.id, items, head });
        return;
      }
      case 'subscribe': {
        const { head } = await store.state(mailbox);
        this.pushedUpTo = request.after;
        this.send({ t: 'subscribed', id: request.id, head });
        await this.pushUpTo(head);
        return;
      }
      case 'put-snapshot': {
        if (request.blob.length > limits.maxSnapshotBytes) {
          this.error(request.id, 'too-large', `snapshot of ${request.blob.length} bytes is over the cap of ${limits.maxSnapshotBytes}`);
          return;
        }
        const outcome = await store.putSnapshot(mailbox, request.covers, request.blob, limits.quotaBytes, now());
        if (outcome.ok) {
          this.ctx.log(`mailbox compacted ${redactMailbox(mailbox)}: snapshot at ${request.covers} replaced ${outcome.dropped} blobs`);
          this.send({ t: 'ack', id: request.id, seq: request.covers });
        } else if (outcome.reason === 'conflict') {
          this.error(request.id, 'conflict', 'a snapshot must cover at most the head and more than the stored snapshot', { head: outcome.head });
        } else {
          this.refuseQuota(request.id, mailbox, outcome.bytes, request.blob.length);
        }
        return;
      }
      case 'get-snapshot': {
        const slice = await store.readSnapshot(mailbox, request.offset, request.length);
        if (slice === null) {
          this.error(request.id, 'conflict', 'this mailbox has no snapshot', { head: (await store.state(mailbox)).head });
          return;
        }
        this.send({ t: 'snapshot-chunk', id: request.id, covers: slice.covers, offset: request.offset, total: slice.total, bytes: slice.bytes });
        return;
      }
      default: {
        const unreachable: never = request;
        throw new Error(`unhandled mailbox request ${String(unreachable)}`);
      }
    }
  }

  private refuseQuota(id: number, mailbox: MailboxId, bytes: number, size: number): void {
    const { quotaBytes } = this.ctx.limits;
    this.ctx.log(`mailbox ${redactMailbox(mailbox)} over quota: ${bytes} + ${size} > ${quotaBytes} bytes`);
    this.error(id, 'quota', `the mailbox holds ${bytes} bytes; ${size} more would pass its quota of ${quotaBytes}`);
  }

  private async pushUpTo(seq: number): Promise<void> {
    const mailbox = this.mailbox;
    while (mailbox !== undefined && this.pushedUpTo !== undefined && this.pushedUpTo < seq && this.ws.readyState === this.ws.OPEN) {
      const items = await this.ctx.store.read(mailbox, this.pushedUpTo, MAX_READ_ITEMS);
      if (items.length === 0) return;
      for (const item of items) {
        this.send({ t: 'push', seq: item.seq, blob: item.blob });
        this.pushedUpTo = item.seq;
      }
    }
  }
}
