import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatteryError } from '../shared-worker/protocol/errors.js';

/** `server.listen` as a promise, with the usual failures turned into one clear sentence. */
export function listen(server: HttpServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(listenError(err, port, host));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** The errno code ends the message too, so callers (and people searching logs) can match it. */
function listenError(err: NodeJS.ErrnoException, port: number, host: string): BatteryError {
  const where = `${host}:${port}`;
  const code = err.code ? ` (${err.code})` : '';
  const detail = { port, host, cause: err.code ?? 'unknown' };
  switch (err.code) {
    case 'EADDRINUSE':
      return new BatteryError('SIGNALING', `cannot listen on ${where}: the port is already in use${code}`, detail);
    case 'EACCES':
      return new BatteryError('SIGNALING', `cannot listen on ${where}: permission denied, ports below 1024 need privileges${code}`, detail);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new BatteryError('SIGNALING', `cannot listen on ${where}: no such address on this machine${code}`, detail);
    default:
      return new BatteryError('SIGNALING', `cannot listen on ${where}: ${err.message}`, detail);
  }
}

/** `http://host:port/path`, with IPv6 literals bracketed. */
export function serverUrl(host: string, port: number, path: string): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}${path}`;
}
