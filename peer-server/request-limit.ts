import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { normalizeAddress } from './address-counter.js';
import { clientAddress } from './client-address.js';
import type { Logger } from './log.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * One token bucket per client address for everything that reaches the server outside an open
 * socket: HTTP requests (`GET rooms/<id>`, `GET health`, `GET mailbox`) and WebSocket upgrades
 * (new signaling and mailbox connections). Open sockets have their own per-message rates; without
 * this, a client could make new connections or listing requests as fast as it can send them.
 * Over the rate, HTTP answers 429 with `Retry-After`, an upgrade is answered 429 and closed.
 */
export class RequestLimit {
  private readonly limiter: RateLimiter;
  private readonly trustedProxies: ReadonlySet<string>;

  constructor(perSecond: number, burst: number, trustProxy: readonly string[], private readonly log: Logger, now: () => number = Date.now) {
    this.limiter = new RateLimiter(perSecond, burst, now);
    this.trustedProxies = new Set(trustProxy.map((a) => normalizeAddress(a)));
  }

  /** Milliseconds the client must wait, or 0 when the request may go ahead (and is counted). */
  private take(req: IncomingMessage): number {
    return this.limiter.take(clientAddress(req, this.trustedProxies));
  }

  readonly middleware: RequestHandler = (req, res, next) => {
    const wait = this.take(req);
    if (wait === 0) {
      next();
      return;
    }
    this.log(`refused rate ${clientAddress(req, this.trustedProxies)} (http)`);
    res.set('Retry-After', String(Math.ceil(wait / 1000)));
    res.status(429).json({ error: 'too many requests from this address', retryAfterMs: wait });
  };

  /** True when the upgrade may go ahead; otherwise it has been answered and closed. */
  admitUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    const wait = this.take(req);
    if (wait === 0) return true;
    this.log(`refused rate ${clientAddress(req, this.trustedProxies)} (upgrade)`);
    socket.on('error', () => socket.destroy());
    socket.end(`HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${Math.ceil(wait / 1000)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    return false;
  }
}
