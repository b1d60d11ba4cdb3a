// The room lives in the URL fragment (`#<token>`): browsers never send the fragment to any
// server, so the token stays between the people who share the link.

/** 128 random bits, base64url: 22 characters, no padding, safe in a fragment. */
export function newToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The token from `location.hash`; without one, a fresh token is put in the URL (no new history entry). */
export function roomTokenFromUrl() {
  const current = decodeURIComponent(location.hash.slice(1)).trim();
  if (current) return current;
  const token = newToken();
  history.replaceState(null, '', `${location.pathname}${location.search}#${token}`);
  return token;
}

/**
 * One local database per room, so two rooms opened in one browser never mix. The name is a hash
 * of the token (IndexedDB names are visible in devtools; the token itself need not be).
 */
export async function dbNameFor(token) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`rtc-battery-demo:${token}`)));
  return `demo-${[...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Where the PeerServer is and which ICE servers to use: `?signal=<url>` wins, then `/config.json`
 * (written by `npm start`), then the same host on port 9000 (the server's default).
 * @returns {Promise<{ signalingUrl: string, iceServers: RTCIceServer[] }>}
 */
export async function loadConfig() {
  let config = {};
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    if (response.ok) config = await response.json();
  } catch {
    // no config route: a plain static host
  }
  const fromQuery = new URLSearchParams(location.search).get('signal');
  return {
    signalingUrl: fromQuery || (typeof config.signalingUrl === 'string' ? config.signalingUrl : `${location.protocol}//${location.hostname}:9000/`),
    iceServers: Array.isArray(config.iceServers) ? config.iceServers : [],
  };
}

/** `<roomId>-<nodeId>` → the first 6 characters of the node id, enough to tell peers apart. */
export function shortPeer(peerId) {
  const node = String(peerId).split('-').pop() ?? '';
  return node.slice(0, 6) || String(peerId).slice(0, 6);
}
