// Command line and environment of `npm start`. Flags win over the environment; an empty
// variable counts as unset.
import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm start -- [options]     (or: node examples/start.mjs [options])

Builds dist/ if needed, starts the signaling server and the demo site on 127.0.0.1, and prints
the URL to open (with a fresh room token after the #).

Options:
  --port <n>             demo site port (env PORT, default 8080; 0 = any free port)
  --signaling-port <n>   PeerServer port (env SIGNALING_PORT, default 9000; 0 = any free port)
  --ice-servers <json>   STUN/TURN servers for the demo page, an RTCIceServer[] as JSON
                         (format and a coturn example: README, "STUN and TURN")
                         (env ICE_SERVERS; default none: peers connect on one machine or network only)
  --data <dir>           folder for the mailbox's SQLite file (env DATA_DIR, default .data/
                         in the repository); printed at start
  --no-mailbox           do not serve the encrypted mailbox (README, "Mailbox")
  --no-build             never run the build, even if dist/ looks stale
  --quiet                do not log signaling joins/leaves
  --help                 show this text
`;

function port(name, text) {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new Error(`${name} expects a port number from 0 to 65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

function iceServers(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('--ice-servers expects an RTCIceServer[] as JSON (see README, "STUN and TURN")');
  }
  const ok = Array.isArray(value) && value.every((s) => s && (typeof s.urls === 'string' || (Array.isArray(s.urls) && s.urls.every((u) => typeof u === 'string'))));
  if (!ok) throw new Error('--ice-servers expects an array of {"urls": string | string[], "username"?, "credential"?}');
  return value;
}

/** @returns {{ help: true } | { help: false, port: number, signalingPort: number, iceServers: object[], build: boolean, dataDir: string, mailbox: boolean, quiet: boolean }} */
export function parseStartOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      'signaling-port': { type: 'string' },
      'ice-servers': { type: 'string' },
      'no-build': { type: 'boolean' },
      data: { type: 'string' },
      'no-mailbox': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  return {
    help: false,
    port: port('--port', values.port ?? (env.PORT || '8080')),
    signalingPort: port('--signaling-port', values['signaling-port'] ?? (env.SIGNALING_PORT || '9000')),
    iceServers: iceServers(values['ice-servers'] ?? (env.ICE_SERVERS || '[]')),
    build: !values['no-build'],
    dataDir: values.data ?? (env.DATA_DIR || '.data'),
    mailbox: !values['no-mailbox'],
    quiet: Boolean(values.quiet),
  };
}
