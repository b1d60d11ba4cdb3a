/**
 * `signalingUrl` names the PeerServer the way a user writes it (`https://signal.example/battery/`
 * or `ws://127.0.0.1:9000/`); PeerJS wants it in pieces, and the rooms endpoint wants an HTTP
 * base. Both come from one parse so they can never disagree.
 */
import { BatteryError } from './errors.js';

export interface SignalingTarget {
  /** Exactly what `new Peer(id, {...})` needs: PeerJS defaults to 0.peerjs.com:443 otherwise. */
  peer: { host: string; port: number; path: string; secure: boolean };
  /** `http(s)://host:port/path/` (trailing slash): `${httpBase}rooms/<roomId>`, `${httpBase}health`. */
  httpBase: string;
}

const SCHEMES: Record<string, { secure: boolean; defaultPort: number }> = {
  'http:': { secure: false, defaultPort: 80 },
  'ws:': { secure: false, defaultPort: 80 },
  'https:': { secure: true, defaultPort: 443 },
  'wss:': { secure: true, defaultPort: 443 },
};

function refuse(url: unknown, why: string): never {
  throw new BatteryError('SIGNALING', `signalingUrl ${JSON.stringify(url)} ${why}`, { signalingUrl: String(url) });
}

export function parseSignalingUrl(url: string): SignalingTarget {
  if (typeof url !== 'string' || url.trim() === '') refuse(url, 'must be a non-empty string');
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    refuse(url, 'is not an absolute URL (expected http(s):// or ws(s)://host:port/path)');
  }
  const scheme = SCHEMES[parsed.protocol];
  if (!scheme) refuse(url, `has scheme ${parsed.protocol} (expected http:, https:, ws: or wss:)`);
  if (parsed.hostname === '') refuse(url, 'has no host');
  // Credentials in the URL would go to the server in clear with every request; a query or
  // fragment has no meaning to PeerJS, which builds its own query string after the path.
  if (parsed.username !== '' || parsed.password !== '') refuse(url, 'must not contain credentials');
  if (parsed.search !== '' || parsed.hash !== '') refuse(url, 'must not have a query or fragment');

  const port = parsed.port === '' ? scheme.defaultPort : Number(parsed.port);
  let path = parsed.pathname || '/';
  if (!path.endsWith('/')) path += '/';
  // URL keeps IPv6 hosts in brackets, which is also what both WebSocket and fetch URLs need.
  const host = parsed.hostname;
  const httpScheme = scheme.secure ? 'https' : 'http';
  return {
    peer: { host, port, path, secure: scheme.secure },
    httpBase: `${httpScheme}://${host}:${port}${path}`,
  };
}
