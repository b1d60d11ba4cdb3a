import type { Server as HttpServer } from 'node:http';
import type { Express } from 'express';
import { BatteryError } from '../shared-worker/protocol/errors.js';
import type { Logger } from './log.js';

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
  /** Mount on an existing server (embedding). It is listened on only if it is not listening yet. */
  server?: HttpServer;
  /** Mount into an existing express app (which must be `server`'s request handler, if both are given). */
  app?: Express;
  /** One line per connect/disconnect/refusal. Default: console.log with an ISO timestamp. */
  log?: Logger;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  path: string;
  maxMessageBytes: number;
  maxPeersPerRoom: number;
  maxConnectionsPerAddress: number;
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
  };
  requireInteger('port', resolved.port, 0, 65535);
  requireInteger('maxMessageBytes', resolved.maxMessageBytes, 1, 2 ** 31 - 1);
  requireInteger('maxPeersPerRoom', resolved.maxPeersPerRoom, 1, 2 ** 31 - 1);
  requireInteger('maxConnectionsPerAddress', resolved.maxConnectionsPerAddress, 1, 2 ** 31 - 1);
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
