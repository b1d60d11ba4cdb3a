import { parseArgs } from 'node:util';
import { isBatteryError } from '../shared-worker/protocol/errors.js';
import { consoleLogger } from './log.js';
import { DEFAULTS, type BatteryServerOptions } from './options.js';
import { createBatteryServer, type BatteryServer } from './server.js';
import { serverVersion } from './version.js';

export const USAGE = `Usage: rtc-battery-server [options]

The rtc-battery signaling server (a PeerJS server with rooms and limits).

Options:
  --port <n>                          TCP port, 0 for any free one (default ${DEFAULTS.port})
  --host <address>                    interface to bind (default ${DEFAULTS.host}; 0.0.0.0 exposes it)
  --path <prefix>                     URL prefix of the routes and the WebSocket (default ${DEFAULTS.path})
  --max-peers-per-room <n>            (default ${DEFAULTS.maxPeersPerRoom})
  --max-connections-per-address <n>   (default ${DEFAULTS.maxConnectionsPerAddress})
  --max-message-bytes <n>             largest WebSocket message (default ${DEFAULTS.maxMessageBytes})
  --version                           print the version
  --help                              show this text
`;

export type CliArgs = { help: true } | { version: true } | { help: false; options: BatteryServerOptions };

/** Throws a one-line Error for anything it cannot parse; range checks happen in resolveOptions. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      'max-peers-per-room': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      'max-message-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return { help: true };
  if (values.version) return { version: true };
  const options: BatteryServerOptions = {};
  if (values.port !== undefined) options.port = integer('--port', values.port);
  if (values.host !== undefined) options.host = values.host;
  if (values.path !== undefined) options.path = values.path;
  if (values['max-peers-per-room'] !== undefined) options.maxPeersPerRoom = integer('--max-peers-per-room', values['max-peers-per-room']);
  if (values['max-connections-per-address'] !== undefined) {
    options.maxConnectionsPerAddress = integer('--max-connections-per-address', values['max-connections-per-address']);
  }
  if (values['max-message-bytes'] !== undefined) options.maxMessageBytes = integer('--max-message-bytes', values['max-message-bytes']);
  return { help: false, options };
}

function integer(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${flag} expects a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * The `rtc-battery-server` command. Prints the URL once listening; SIGINT/SIGTERM close the
 * server and exit 0. Failures print one line to stderr and set the exit code: 2 for bad
 * arguments, 1 for anything else (a busy port). Resolves with the running server, or undefined
 * when it did not start.
 */
export async function runCli(argv: readonly string[]): Promise<BatteryServer | undefined> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`rtc-battery-server: ${(err as Error).message} (see --help)\n`);
    process.exitCode = 2;
    return undefined;
  }
  if ('version' in args) {
    process.stdout.write(`${serverVersion()}\n`);
    return undefined;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  let server: BatteryServer;
  try {
    server = await createBatteryServer({ ...args.options, log: consoleLogger });
  } catch (err) {
    const message = isBatteryError(err) || err instanceof Error ? err.message : String(err);
    process.stderr.write(`rtc-battery-server: ${message}\n`);
    process.exitCode = 1;
    return undefined;
  }
  process.stdout.write(`rtc-battery-server listening on ${server.url}\n`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`rtc-battery-server: ${signal}, closing\n`);
    // No process.exit on success: close() releases every handle, so the process ends by itself
    // (the CLI tests check that it does).
    server.close().catch((err: unknown) => {
      process.stderr.write(`rtc-battery-server: close failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}
