import { parseArgs } from 'node:util';
import { isBatteryError } from '../shared-worker/protocol/errors.js';
import { isProxyAddress } from './client-address.js';
import { consoleLogger } from './log.js';
import { DEFAULTS, type BatteryServerOptions } from './options.js';
import { createBatteryServer, type BatteryServer } from './server.js';
import { serverVersion } from './version.js';
import { MAILBOX_DEFAULTS, type MailboxOptions } from './mailbox/mailbox-options.js';

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
  --mailbox <file | postgres://url>   serve the encrypted mailbox from a SQLite file or a Postgres
                                      database (README, "Mailbox"; default off)
  --mailbox-quota-bytes <n>           bytes one mailbox may hold (default ${MAILBOX_DEFAULTS.quotaBytes})
  --mailbox-max-blob-bytes <n>        largest blob (default ${MAILBOX_DEFAULTS.maxBlobBytes})
  --mailbox-idle-days <n>             delete mailboxes idle this many days (default ${MAILBOX_DEFAULTS.idleExpiryMs / 86_400_000})
  --max-messages-per-second <n>       per socket, sustained (default ${DEFAULTS.maxMessagesPerSecond})
  --max-message-burst <n>             per socket, at once (default ${DEFAULTS.maxMessageBurst})
  --max-queued-bytes-per-address <n>  held for absent recipients (default ${DEFAULTS.maxQueuedBytesPerAddress})
  --max-queued-bytes <n>              the same, all clients (default ${DEFAULTS.maxQueuedBytes})
  --max-buffered-bytes-per-recipient <n>
                                      unsent bytes held for a connected client that is not
                                      reading (default ${DEFAULTS.maxBufferedBytesPerRecipient})
  --max-requests-per-second <n>       HTTP requests and new sockets per address (default ${DEFAULTS.maxRequestsPerSecond})
  --max-request-burst <n>             the same, at once (default ${DEFAULTS.maxRequestBurst})
  --trust-proxy <ip,ip,...>           reverse proxies whose X-Forwarded-For names the client
  --id-hold-ms <n>                    a departed client's id stays reserved for its token (default ${DEFAULTS.idHoldMs})
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
      mailbox: { type: 'string' },
      'mailbox-quota-bytes': { type: 'string' },
      'mailbox-max-blob-bytes': { type: 'string' },
      'mailbox-idle-days': { type: 'string' },
      'max-messages-per-second': { type: 'string' },
      'max-message-burst': { type: 'string' },
      'max-queued-bytes-per-address': { type: 'string' },
      'max-queued-bytes': { type: 'string' },
      'max-buffered-bytes-per-recipient': { type: 'string' },
      'max-requests-per-second': { type: 'string' },
      'max-request-burst': { type: 'string' },
      'trust-proxy': { type: 'string', multiple: true },
      'id-hold-ms': { type: 'string' },
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
  const mailboxFlags = ['mailbox-quota-bytes', 'mailbox-max-blob-bytes', 'mailbox-idle-days'] as const;
  if (values.mailbox === undefined && mailboxFlags.some((f) => values[f] !== undefined)) {
    throw new Error('the --mailbox-* limits need --mailbox <file | postgres://url>');
  }
  if (values.mailbox !== undefined) {
    const mailbox: MailboxOptions = /^postgres(ql)?:\/\//.test(values.mailbox) ? { postgres: values.mailbox } : { path: values.mailbox };
    if (values['mailbox-quota-bytes'] !== undefined) mailbox.quotaBytes = integer('--mailbox-quota-bytes', values['mailbox-quota-bytes']);
    if (values['mailbox-max-blob-bytes'] !== undefined) mailbox.maxBlobBytes = integer('--mailbox-max-blob-bytes', values['mailbox-max-blob-bytes']);
    if (values['mailbox-idle-days'] !== undefined) mailbox.idleExpiryMs = integer('--mailbox-idle-days', values['mailbox-idle-days']) * 86_400_000;
    options.mailbox = mailbox;
  }
  if (values['max-messages-per-second'] !== undefined) options.maxMessagesPerSecond = integer('--max-messages-per-second', values['max-messages-per-second']);
  if (values['max-message-burst'] !== undefined) options.maxMessageBurst = integer('--max-message-burst', values['max-message-burst']);
  if (values['max-queued-bytes-per-address'] !== undefined) {
    options.maxQueuedBytesPerAddress = integer('--max-queued-bytes-per-address', values['max-queued-bytes-per-address']);
  }
  if (values['max-queued-bytes'] !== undefined) options.maxQueuedBytes = integer('--max-queued-bytes', values['max-queued-bytes']);
  if (values['max-buffered-bytes-per-recipient'] !== undefined) {
    options.maxBufferedBytesPerRecipient = integer('--max-buffered-bytes-per-recipient', values['max-buffered-bytes-per-recipient']);
  }
  if (values['max-requests-per-second'] !== undefined) options.maxRequestsPerSecond = integer('--max-requests-per-second', values['max-requests-per-second']);
  if (values['max-request-burst'] !== undefined) options.maxRequestBurst = integer('--max-request-burst', values['max-request-burst']);
  if (values['id-hold-ms'] !== undefined) options.idHoldMs = integer('--id-hold-ms', values['id-hold-ms']);
  if (values['trust-proxy'] !== undefined) options.trustProxy = values['trust-proxy'].flatMap(proxyList);
  return { help: false, options };
}

/** `--trust-proxy 10.0.0.1,::1` (the flag may also repeat); each entry a literal IP. */
function proxyList(text: string): string[] {
  const list = text.split(',').map((a) => a.trim());
  const bad = list.find((a) => !isProxyAddress(a));
  if (bad !== undefined) throw new Error(`--trust-proxy expects comma-separated IP addresses, got ${JSON.stringify(bad)}`);
  return list;
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
  if (server.mailboxUrl) process.stdout.write(`rtc-battery-server mailbox on ${server.mailboxUrl}\n`);
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
