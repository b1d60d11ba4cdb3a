import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../../peer-server/index.js';
import { startServer, type TestServer } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** The server package's own package.json is what `--version` reports. */
const serverPackageVersion = (JSON.parse(readFileSync(new URL('../../../peer-server/package.json', import.meta.url), 'utf8')) as { version: string }).version;
const children: ChildProcessWithoutNullStreams[] = [];
/** 'close' (not 'exit'): it fires after stdout/stderr are drained, so the text is complete. */
const closedCodes = new WeakMap<ChildProcessWithoutNullStreams, Promise<number | null>>();
let running: TestServer | undefined;

/** One node process running the TypeScript CLI (no npx/tsx wrapper, so the PID is the server). */
function startCli(args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, ['--import', 'tsx', 'peer-server/cli.ts', ...args], { cwd: repoRoot });
  children.push(child);
  closedCodes.set(child, once(child, 'close').then(([code]) => code as number | null));
  return child;
}

function collect(stream: NodeJS.ReadableStream): { text: () => string; waitFor: (re: RegExp) => Promise<RegExpExecArray> } {
  let text = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
    for (const w of waiters.splice(0)) {
      const m = w.re.exec(text);
      if (m) w.resolve(m);
      else waiters.push(w);
    }
  });
  return {
    text: () => text,
    waitFor: (re) => {
      const m = re.exec(text);
      return m ? Promise.resolve(m) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return closedCodes.get(child)!;
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exitOf(child);
    }
  }
  await running?.server.close();
  running = undefined;
});

describe('rtc-battery-server CLI', () => {
  it('prints the URL it listens on, serves health, and exits 0 on SIGTERM', async () => {
    const child = startCli(['--port', '0', '--max-peers-per-room', '4']);
    const out = collect(child.stdout);
    const [, url] = await out.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+\/)\n/);
    const health = await (await fetch(`${url}health`)).json();
    expect(health).toEqual({ ok: true, peers: 0, rooms: 0 });

    expect(process.kill(child.pid!, 'SIGTERM')).toBe(true);
    expect(await exitOf(child)).toBe(0);
    expect(out.text()).toMatch(/SIGTERM, closing/);
    // The port is free again.
    await expect(fetch(`${url}health`)).rejects.toThrow();
  });

  it('stops on SIGINT too, and honours --path', async () => {
    const child = startCli(['--port', '0', '--path', '/signal']);
    const out = collect(child.stdout);
    const [, url] = await out.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+\/signal\/)\n/);
    expect((await fetch(`${url}health`)).status).toBe(200);
    process.kill(child.pid!, 'SIGINT');
    expect(await exitOf(child)).toBe(0);
  });

  it('exits 1 with one clear line when the port is busy', async () => {
    running = await startServer();
    const child = startCli(['--port', String(running.server.port)]);
    const err = collect(child.stderr);
    const out = collect(child.stdout);
    expect(await exitOf(child)).toBe(1);
    expect(err.text()).toBe(`rtc-battery-server: cannot listen on 127.0.0.1:${running.server.port}: the port is already in use (EADDRINUSE)\n`);
    expect(out.text()).toBe('');
    // The server holding the port is unaffected.
    expect((await fetch(`${running.server.url}health`)).status).toBe(200);
  });

  it('exits 2 on a bad argument and 0 on --help', async () => {
    const bad = startCli(['--port', 'nine']);
    const badErr = collect(bad.stderr);
    expect(await exitOf(bad)).toBe(2);
    expect(badErr.text()).toMatch(/^rtc-battery-server: --port expects a non-negative integer, got "nine" \(see --help\)\n$/);

    const unknown = startCli(['--bogus']);
    const unknownErr = collect(unknown.stderr);
    expect(await exitOf(unknown)).toBe(2);
    expect(unknownErr.text().split('\n').filter(Boolean)).toHaveLength(1);

    const help = startCli(['--help']);
    const helpOut = collect(help.stdout);
    expect(await exitOf(help)).toBe(0);
    expect(helpOut.text()).toMatch(/^Usage: rtc-battery-server/);
    expect(helpOut.text()).toMatch(/--max-connections-per-address/);

    const version = startCli(['--version']);
    const versionOut = collect(version.stdout);
    expect(await exitOf(version)).toBe(0);
    expect(versionOut.text()).toBe(`${serverPackageVersion}\n`);
  });

  it('exits 1 on an out-of-range limit', async () => {
    const child = startCli(['--port', '0', '--max-peers-per-room', '0']);
    const err = collect(child.stderr);
    expect(await exitOf(child)).toBe(1);
    expect(err.text()).toMatch(/^rtc-battery-server: maxPeersPerRoom must be an integer from 1 to \d+, got 0\n$/);
  });
});

describe('parseCliArgs', () => {
  it('maps every flag to its option', () => {
    expect(
      parseCliArgs([
        '--port', '8080', '--host', '::1', '--path', '/s/',
        '--max-peers-per-room', '3', '--max-connections-per-address', '5', '--max-message-bytes', '2048',
        '--max-messages-per-second', '7', '--max-message-burst', '70', '--max-queued-bytes-per-address', '1000',
        '--max-queued-bytes', '9000', '--trust-proxy', '10.0.0.1, ::1', '--trust-proxy', '10.0.0.2', '--id-hold-ms', '0',
        '--max-buffered-bytes-per-recipient', '4096',
      ]),
    ).toEqual({
      help: false,
      options: {
        port: 8080, host: '::1', path: '/s/', maxPeersPerRoom: 3, maxConnectionsPerAddress: 5, maxMessageBytes: 2048,
        maxMessagesPerSecond: 7, maxMessageBurst: 70, maxQueuedBytesPerAddress: 1000, maxQueuedBytes: 9000,
        trustProxy: ['10.0.0.1', '::1', '10.0.0.2'], idHoldMs: 0, maxBufferedBytesPerRecipient: 4096,
      },
    });
    expect(parseCliArgs([])).toEqual({ help: false, options: {} });
    expect(parseCliArgs(['-h'])).toEqual({ help: true });
    expect(parseCliArgs(['--version'])).toEqual({ version: true });
    expect(parseCliArgs(['--port=0'])).toEqual({ help: false, options: { port: 0 } });
  });

  it('rejects non-integers, negatives, positionals and unknown flags', () => {
    for (const argv of [['--port', '-1'], ['--port', '1.5'], ['--port', ''], ['--max-message-bytes', '1e3'], ['--trust-proxy', 'proxy.local'], ['--trust-proxy', '10.0.0.0/8'], ['extra'], ['--nope']]) {
      expect(() => parseCliArgs(argv), argv.join(' ')).toThrow();
    }
  });
});
