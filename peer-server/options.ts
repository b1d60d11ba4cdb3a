import type { Server as HttpServer } from 'node:http';
import type { Express } from 'express';
import { BatteryError } from '../shared-worker/protocol/errors.js';
import { isProxyAddress } from './client-address.js';
import type { Logger } from './log.js';
import type { MailboxOptions } from './mailbox/mailbox-options.js';

export interface BatteryServerOptions {
  /** TCP port; 0 picks a free one. Ignored when `server` is already listening. */
  port?: number;
  /** Interface to bind. Loopback by default: exposing the server is a deliberate choice. */
  host?: string;
  /** URL prefix for every route and the WebSocket (`<path>peerjs`); the PeerJS client's `path`. */
  path?: string;
  /** Largest WebSocket message a client may send; a bigger one closes that socket (code 1009). */
  maxMessageBytes?: number;
  /** New peer ids beyond this many in one room are refused. */
  maxPeersPerRoom?: number;
  /** Open signaling sockets per remote IP; more are refused. */
  maxConnectionsPerAddress?: number;
  /** Sustained messages per second one socket may send; over it (past the burst) the socket is closed (1008). */
  maxMessagesPerSecond?: number;
  /** Messages one socket may send at once before the rate applies. */
  maxMessageBurst?: number;
  /**
   * Bytes of messages to recipients that are not connected, which `peer` holds for about 6 s,
   * per client address; a message over it closes the sender's socket (1008).
   */
  maxQueuedBytesPerAddress?: number;
  /** The same over all clients together. */
  maxQueuedBytes?: number;
  /**
   * Bytes the server may hold unsent for one connected client that is not reading (its socket's
   * send buffer). A message that would go past it is dropped, and its bytes count against the
   * sender's queued-bytes budget, so a flooder's socket is closed while an honest sender whose
   * one OFFER met a full buffer is not.
   */
  maxBufferedBytesPerRecipient?: number;
  /**
   * HTTP requests and WebSocket upgrades (new connections) per second one client address may
   * make, sustained; over it (past the burst) HTTP answers 429 with Retry-After, an upgrade 429.
   */
  maxRequestsPerSecond?: number;
  /** Requests and upgrades one address may make at once before the rate applies. */
  maxRequestBurst?: number;
  /**
   * Addresses of reverse proxies whose `X-Forwarded-For` is believed (literal IPs). When a socket
   * comes from one, per-address limits count the client address the proxy forwarded.
   */
  trustProxy?: readonly string[];
  /**
   * How long the id of a client that left stays reserved for its PeerJS token (others get
   * `ID-TAKEN`); 0 turns this off.
   */
  idHoldMs?: number;
  /** Mount on an existing server (embedding). It is listened on only if it is not listening yet. */
  server?: HttpServer;
  /** Mount into an existing express app (which must be `server`'s request handler, if both are given). */
  app?: Express;
  /** One line per connect/disconnect/refusal. Default: console.log with an ISO timestamp. */
  log?: Logger;
  /** Clock of the per-address request rate (tests pass a fake one). Default: Date.now. */
  now?: () => number;
  /**
   * Serve an end-to-end encrypted mailbox at `<path>mailbox`: a SQLite file path, a
   * `postgres://` URL, or MailboxOptions (README, "Mailbox"). Off when absent or false.
   */
  mailbox?: string | MailboxOptions | false;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  path: string;
  maxMessageBytes: number;
  maxPeersPerRoom: number;
  maxConnectionsPerAddress: number;
  maxMessagesPerSecond: number;
  maxMessageBurst: number;
  maxQueuedBytesPerAddress: number;
  maxQueuedBytes: number;
  maxBufferedBytesPerRecipient: number;
  maxRequestsPerSecond: number;
  maxRequestBurst: number;
  trustProxy: readonly string[];
  idHoldMs: number;
}

export const DEFAULTS: ResolvedOptions = {
  port: 9000,
  host: '127.0.0.1',
  path: '/',
  // A PeerJS OFFER for one data channel (SDP + connection metadata) is around 1–2 KiB and a
  // CANDIDATE a few hundred bytes; 64 KiB is room for unusual SDP while refusing bulk abuse.
  maxMessageBytes: 64 * 1024,
  // A room is one user's devices and the people they share a link with; the mesh is all-to-all,
  // so a few dozen peers is already more connections per browser than is comfortable.
  maxPeersPerRoom: 32,
  // Several browsers behind one NAT share an address; 16 sockets leaves room for that.
  maxConnectionsPerAddress: 16,
  // A heartbeat every 5 s, and one OFFER plus a few CANDIDATEs per connection dialed: 500 at once
  // covers a newcomer dialing a full room; 50/s sustained is far above any honest pace.
  maxMessagesPerSecond: 50,
  maxMessageBurst: 500,
  // A few OFFERs to members that just left; 256 KiB is dozens of them.
  maxQueuedBytesPerAddress: 256 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  // What a member is sent while it dials or is dialed by a full room is tens of KiB; a socket
  // with 1 MiB it has not read is not reading.
  maxBufferedBytesPerRecipient: 1024 * 1024,
  // A page load lists its room once and opens two sockets (signaling, mailbox), and reconnects
  // back off from 0.5 s: a whole office behind one NAT stays far below 20/s, burst 200.
  maxRequestsPerSecond: 20,
  maxRequestBurst: 200,
  trustProxy: [],
  // Long enough for a reload, a laptop lid or a network change; a departed id costs ~200 bytes.
  idHoldMs: 10 * 60 * 1000,
};

/** Leading and trailing slash, so `<path>peerjs` and `<path>rooms/x` are well-formed. */
export function normalizePath(path: string): string {
  let p = path.trim();
  if (!p.startsWith('/')) p = `/${p}`;
  if (!p.endsWith('/')) p = `${p}/`;
  return p;
}

export function resolveOptions(options: BatteryServerOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    port: options.port ?? DEFAULTS.port,
    host: options.host ?? DEFAULTS.host,
    path: normalizePath(options.path ?? DEFAULTS.path),
    maxMessageBytes: options.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    maxPeersPerRoom: options.maxPeersPerRoom ?? DEFAULTS.maxPeersPerRoom,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress,
    maxMessagesPerSecond: options.maxMessagesPerSecond ?? DEFAULTS.maxMessagesPerSecond,
    maxMessageBurst: options.maxMessageBurst ?? DEFAULTS.maxMessageBurst,
    maxQueuedBytesPerAddress: options.maxQueuedBytesPerAddress ?? DEFAULTS.maxQueuedBytesPerAddress,
    maxQueuedBytes: options.maxQueuedBytes ?? DEFAULTS.maxQueuedBytes,
    maxBufferedBytesPerRecipient: options.maxBufferedBytesPerRecipient ?? DEFAULTS.maxBufferedBytesPerRecipient,
    maxRequestsPerSecond: options.maxRequestsPerSecond ?? DEFAULTS.maxRequestsPerSecond,
    maxRequestBurst: options.maxRequestBurst ?? DEFAULTS.maxRequestBurst,
    trustProxy: options.trustProxy ?? DEFAULTS.trustProxy,
    idHoldMs: options.idHoldMs ?? DEFAULTS.idHoldMs,
  };
  requireInteger('port', resolved.port, 0, 65535);
  requireInteger('maxMessageBytes', resolved.maxMessageBytes, 1, 2 ** 31 - 1);
  requireInteger('maxPeersPerRoom', resolved.maxPeersPerRoom, 1, 2 ** 31 - 1);
  requireInteger('maxConnectionsPerAddress', resolved.maxConnectionsPerAddress, 1, 2 ** 31 - 1);
  requireInteger('maxMessagesPerSecond', resolved.maxMessagesPerSecond, 1, 2 ** 31 - 1);
  requireInteger('maxMessageBurst', resolved.maxMessageBurst, 1, 2 ** 31 - 1);
  requireInteger('maxQueuedBytesPerAddress', resolved.maxQueuedBytesPerAddress, 0, 2 ** 31 - 1);
  requireInteger('idHoldMs', resolved.idHoldMs, 0, 2 ** 31 - 1);
  requireInteger('maxQueuedBytes', resolved.maxQueuedBytes, 0, 2 ** 40);
  requireInteger('maxBufferedBytesPerRecipient', resolved.maxBufferedBytesPerRecipient, 0, 2 ** 40);
  requireInteger('maxRequestsPerSecond', resolved.maxRequestsPerSecond, 1, 2 ** 31 - 1);
  requireInteger('maxRequestBurst', resolved.maxRequestBurst, 1, 2 ** 31 - 1);
  if (!Array.isArray(resolved.trustProxy) || !resolved.trustProxy.every((a) => typeof a === 'string' && isProxyAddress(a))) {
    throw new BatteryError('SIGNALING', 'trustProxy must be a list of literal IP addresses', { option: 'trustProxy' });
  }
  if (typeof resolved.host !== 'string' || resolved.host.trim() === '') {
    throw new BatteryError('SIGNALING', 'host must be a non-empty string', { option: 'host' });
  }
  if (/[?#\s]/.test(resolved.path)) {
    throw new BatteryError('SIGNALING', `path must be a plain URL path, got ${JSON.stringify(resolved.path)}`, { option: 'path' });
  }
  return resolved;
}

function requireInteger(option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BatteryError('SIGNALING', `${option} must be an integer from ${min} to ${max}, got ${String(value)}`, {
      option,
      value,
    });
  }
}
