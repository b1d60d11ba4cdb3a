import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { normalizeAddress } from './address-counter.js';

/**
 * The address per-address limits count. Normally the TCP peer. Behind a reverse proxy every
 * client would share the proxy's address, so when the TCP peer is one of the configured trusted
 * proxies, the client is read from `X-Forwarded-For`: walking from the right (the entry our proxy
 * appended) past further trusted proxies, the first other entry. Entries to its left are
 * whatever the client sent and are never used. Without trusted proxies the header is ignored:
 * any client can set it.
 */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = normalizeAddress(req.socket.remoteAddress);
  if (!trustedProxies.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => normalizeAddress(h.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer;
    if (!trustedProxies.has(hop)) return hop;
  }
  return peer;
}

/** A trusted-proxy entry must be a literal IP address (no names, no ranges). */
export function isProxyAddress(text: string): boolean {
  return isIP(text) !== 0;
}
