import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAILBOX_PROTOCOL_VERSION } from '../../shared-worker/protocol/mailbox-protocol.js';
import { normalizeAddress } from '../address-counter.js';
import type { Logger } from '../log.js';
import { resolveMailboxLimits, type MailboxOptions, type ResolvedMailboxLimits } from './mailbox-options.js';
import { MailboxSession } from './mailbox-session.js';
import type { MailboxId, MailboxStore } from './mailbox-store.js';
import { openMailboxStore } from './open-store.js';
import { RateLimiter } from '../rate-limiter.js';

/** Room for the msgpack envelope around the largest blob or snapshot. */
const ENVELOPE_BYTES = 4096;

export interface MailboxEndpoint {
  /** The WebSocket path, `<path>mailbox`. */
  readonly path: string;
  readonly store: MailboxStore;
  readonly limits: ResolvedMailboxLimits;
  /** Handles the upgrade if it is for the mailbox path; returns false otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** What `GET <path>mailbox` answers: that a mailbox is offered, and its limits. */
  info(): { version: number; limits: ResolvedMailboxLimits };
  /** Runs the idle-expiry sweep now (the timer runs it every sweepIntervalMs). */
  sweep(): Promise<number>;
  sockets(): number;
  close(): Promise<void>;
}

export async function openMailboxEndpoint(basePath: string, options: MailboxOptions, log: Logger): Promise<MailboxEndpoint> {
  const limits = resolveMailboxLimits(options);
  const now = options.now ?? Date.now;
  const store = await openMailboxStore(options);
  const path = `${basePath}mailbox`;
  const rate = new RateLimiter(limits.requestsPerSecond, limits.requestBurst, now);
  const byMailbox = new Map<MailboxId, Set<MailboxSession>>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Math.max(limits.maxBlobBytes, limits.maxSnapshotBytes) + ENVELOPE_BYTES,
    perMessageDeflate: false,
  });
  const stopListening = store.onAppend((mailbox, seq) => {
    for (const session of byMailbox.get(mailbox) ?? []) session.notify(seq);
  });
  let closed = false;

  const onSocket = (ws: WebSocket, req: IncomingMessage): void => {
    ws.on('error', () => {});
    const address = normalizeAddress(req.socket.remoteAddress);
    const session = new MailboxSession(ws, address, {
      store,
      limits,
      rate,
      log,
      now,
      joined: (s) => {
        const set = byMailbox.get(s.mailbox!) ?? new Set();
        set.add(s);
        byMailbox.set(s.mailbox!, set);
      },
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => session.onMessage(new Uint8Array(data.buffer, data.byteOffset, data.length), isBinary));
    ws.on('close', () => {
      if (session.mailbox === undefined) return;
      const set = byMailbox.get(session.mailbox);
      set?.delete(session);
      if (set?.size === 0) byMailbox.delete(session.mailbox);
    });
  };

  const sweep = async (): Promise<number> => {
    const expired = await store.expireIdle(now() - limits.idleExpiryMs);
    if (expired > 0) log(`mailbox: expired ${expired} idle mailbox(es)`);
    return expired;
  };
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => log(`mailbox: expiry sweep failed: ${(err as Error).message}`));
  }, limits.sweepIntervalMs);
  timer.unref();

  return {
    path,
    store,
    limits,
    handleUpgrade(req, socket, head) {
      const pathname = (req.url ?? '').split('?')[0];
      if (pathname !== path) return false;
      if (closed) {
        socket.on('error', () => socket.destroy());
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws, req));
      return true;
    },
    info: () => ({ version: MAILBOX_PROTOCOL_VERSION, limits }),
    sweep,
    sockets: () => wss.clients.size,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      stopListening();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await store.close();
    },
  };
}
