// The two servers behind `npm start`: the PeerServer (createBatteryServer from the built
// peer-server/dist/server.js) and a static site for examples/demo + dist/ + the other examples. Both bind
// loopback only. Also used by the browser tests, with port 0.
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { startStaticSite } from './static-site.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = '127.0.0.1';

/** What each URL prefix serves (longest prefix wins). */
function demoMounts(root = REPO_ROOT) {
  return {
    '/dist/': join(root, 'dist'),
    '/plain-html/': join(root, 'examples/plain-html'),
    '/notes-app/': join(root, 'examples/notes-app'),
    '/': join(root, 'examples/demo'),
  };
}

/** A fresh room token: 128 random bits, base64url (22 characters, safe in a URL fragment). */
function newRoomToken() {
  return randomBytes(16).toString('base64url');
}

/**
 * Starts the PeerServer, then the static site. If the second fails, the first is closed again,
 * so a failure leaves nothing running.
 * @param {{ port?: number, signalingPort?: number, root?: string, log?: (line: string) => void, extraMounts?: Record<string, string>, iceServers?: object[], mailbox?: string | object | false }} [options]
 *   mailbox: a SQLite file (or MailboxOptions) for the encrypted mailbox; off when absent.
 *   extraMounts: more URL prefix → directory pairs (tests serve their own pages or a Vite build).
 */
export async function startDemoServers(options = {}) {
  const root = options.root ?? REPO_ROOT;
  const log = options.log ?? (() => {});
  const { createBatteryServer } = await import(pathToFileURL(join(root, 'peer-server/dist/server.js')).href);
  const signaling = await createBatteryServer({ port: options.signalingPort ?? 9000, host: HOST, log, mailbox: options.mailbox ?? false });
  let site;
  try {
    site = await startStaticSite({
      mounts: { ...demoMounts(root), ...options.extraMounts },
      // The page learns where the PeerServer is from here, never from a hard-coded host.
      routes: { '/config.json': () => ({ signalingUrl: signaling.url, iceServers: options.iceServers ?? [] }) },
      port: options.port ?? 8080,
      host: HOST,
    });
  } catch (err) {
    await signaling.close();
    throw siteListenError(err, options.port ?? 8080);
  }
  return {
    siteUrl: `${site.origin}/`,
    signalingUrl: signaling.url,
    mailboxUrl: signaling.mailboxUrl,
    signaling,
    /** The demo URL for a room (a new random one by default). */
    roomUrl: (token = newRoomToken()) => `${site.origin}/#${token}`,
    async close() {
      await site.close();
      await signaling.close();
    },
  };
}

function siteListenError(err, port) {
  const code = /** @type {{ code?: string }} */ (err).code;
  if (code === 'EADDRINUSE') return new Error(`cannot listen on ${HOST}:${port}: the port is already in use (try --port <n>)`);
  if (code === 'EACCES') return new Error(`cannot listen on ${HOST}:${port}: permission denied (ports below 1024 need privileges)`);
  return err;
}
