import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `npm start` (examples/start.mjs) as a process: what it prints, what it serves, how it fails and
// how it stops. --no-build: `npm test` has just built dist/.
const startScript = fileURLToPath(new URL('../../../examples/start.mjs', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [startScript, '--no-build', '--quiet', ...args], {
    env: { ...process.env, PORT: '', SIGNALING_PORT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function openUrl(run: Run): Promise<URL> {
  for (;;) {
    const match = /open:\s+(\S+)/.exec(run.stdout());
    if (match) return new URL(match[1]!);
    if (run.child.exitCode !== null) throw new Error(`start.mjs exited: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function statusOf(origin: URL, rawPath: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    request({ host: origin.hostname, port: origin.port, path: rawPath }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject).end();
  });
}

async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('examples/start.mjs (npm start)', () => {
  it('prints a room URL on 127.0.0.1, serves the demo, /config.json and the wasm, and stops on SIGTERM', async () => {
    const run = start(['--port', '0', '--signaling-port', '0']);
    try {
      const url = await openUrl(run);
      expect(url.hostname).toBe('127.0.0.1');
      expect(url.hash).toMatch(/^#[A-Za-z0-9_-]{22}$/);

      const page = await fetch(new URL('/', url));
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain('RTC Battery');

      const config = (await (await fetch(new URL('/config.json', url))).json()) as { signalingUrl: string; iceServers: unknown[] };
      expect(config.iceServers).toEqual([]); // nothing goes to third-party STUN servers unless asked
      const signaling = new URL(config.signalingUrl);
      expect(signaling.hostname).toBe('127.0.0.1');
      expect(run.stdout()).toContain(config.signalingUrl);
      const health = await fetch(new URL('health', signaling));
      expect(await health.json()).toMatchObject({ ok: true });

      const wasm = await fetch(new URL('/dist/sql-wasm.wasm', url));
      expect(wasm.headers.get('content-type')).toBe('application/wasm');
      await wasm.arrayBuffer();
      expect((await fetch(new URL('/dist/rtc-battery.js', url))).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      // fetch() would normalise `..` away; encoded ones reach the server, which must not leave its folders.
      for (const path of ['/%2e%2e/package.json', '/dist/%2e%2e/%2e%2e/package.json', '/dist/..%2fpackage.json', '/dist/%2e%2e%2f%2e%2e%2fpackage.json']) {
        expect([403, 404]).toContain(await statusOf(url, path));
      }
      expect((await fetch(new URL('/notes-app', url), { redirect: 'manual' })).headers.get('location')).toBe('/notes-app/');

      run.child.kill('SIGTERM');
      expect(await run.exit).toEqual({ code: 0, signal: null });
      await expect(fetch(new URL('/', url))).rejects.toThrow();
      await expect(fetch(new URL('health', signaling))).rejects.toThrow();
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('takes its ports and ICE servers from the environment too', async () => {
    const { port, server } = await occupiedPort();
    server.close();
    const ice = [{ urls: 'placeholder.invalid:3478', username: 'u' }];
    const run = start([], { PORT: String(port), SIGNALING_PORT: '0', ICE_SERVERS: JSON.stringify(ice) });
    try {
      const url = await openUrl(run);
      expect(url.port).toBe(String(port));
      expect(((await (await fetch(new URL('/config.json', url))).json()) as { iceServers: unknown }).iceServers).toEqual(ice);
      run.child.kill('SIGTERM');
      expect((await run.exit).code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it.each([
    ['the demo site', (port: number) => ['--port', String(port), '--signaling-port', '0']],
    ['the signaling server', (port: number) => ['--port', '0', '--signaling-port', String(port)]],
  ])('reports a busy port for %s in one line and exits 1', async (_what, args) => {
    const { port, server } = await occupiedPort();
    try {
      const run = start(args(port));
      expect(await run.exit).toEqual({ code: 1, signal: null });
      // One line, naming the address and the reason.
      expect(run.stderr()).toMatch(new RegExp(`^npm start: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use[^\\n]*\\n$`));
      expect(run.stdout()).toBe('');
    } finally {
      server.close();
    }
  });

  it('refuses bad arguments with exit code 2', async () => {
    const run = start(['--port', 'eighty']);
    expect(await run.exit).toEqual({ code: 2, signal: null });
    expect(run.stderr()).toMatch(/^npm start: --port expects a port number/);
    const ice = start(['--ice-servers', '{"urls":"x"}']);
    expect(await ice.exit).toEqual({ code: 2, signal: null });
    expect(ice.stderr()).toMatch(/^npm start: --ice-servers expects an array/);
  });
});
