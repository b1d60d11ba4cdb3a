// Command line and environment of `npm start`. Flags win over the environment.
import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm start -- [options]     (or: node examples/start.mjs [options])

Builds dist/ if needed, starts the signaling server and the demo site on 127.0.0.1, and prints
the URL to open (with a fresh room token after the #).

Options:
  --port <n>             demo site port (env PORT, default 8080; 0 = any free port)
  --signaling-port <n>   PeerServer port (env SIGNALING_PORT, default 9000; 0 = any free port)
  --no-build             never run the build, even if dist/ looks stale
  --quiet                do not log signaling joins/leaves
  --help                 show this text
`;

function port(name, text) {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new Error(`${name} expects a port number from 0 to 65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** @returns {{ help: true } | { help: false, port: number, signalingPort: number, build: boolean, quiet: boolean }} */
export function parseStartOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      'signaling-port': { type: 'string' },
      'no-build': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  return {
    help: false,
    port: port('--port', values.port ?? env.PORT ?? '8080'),
    signalingPort: port('--signaling-port', values['signaling-port'] ?? env.SIGNALING_PORT ?? '9000'),
    build: !values['no-build'],
    quiet: Boolean(values.quiet),
  };
}
