/**
 * The battery PeerServer for browser tests, from the built `peer-server/dist/server.js` (as a user runs it),
 * on 127.0.0.1 with an ephemeral port. `restart()` closes it and starts a new one on the same
 * port, which is what the signaling-outage tests need: clients keep the URL they were given.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

const serverBundle = fileURLToPath(new URL('../../../peer-server/dist/server.js', import.meta.url));

interface BatteryServerLike {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  stats(): { peers: number; rooms: number; sockets: number };
}

interface ServerModule {
  createBatteryServer(options: Record<string, unknown>): Promise<BatteryServerLike>;
}

export interface TestPeerServer {
  /** `http://127.0.0.1:<port>/`: the `signalingUrl` pages pass to connectBattery. */
  readonly url: string;
  readonly port: number;
  readonly log: string[];
  stats(): { peers: number; rooms: number; sockets: number };
  /** Closes the server (every signaling socket drops); established DataConnections are unaffected. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startPeerServer(options: Record<string, unknown> = {}): Promise<TestPeerServer> {
  const mod = (await import(serverBundle)) as ServerModule;
  const log: string[] = [];
  const logger = (line: string) => log.push(line);
  let server: BatteryServerLike | null = await mod.createBatteryServer({ host: '127.0.0.1', port: 0, log: logger, ...options });
  const port = server.port;
  const url = `http://127.0.0.1:${port}/`;

  const stop = async () => {
    const s = server;
    server = null;
    await s?.close();
  };
  const start = async () => {
    if (server) return;
    // The old listening socket may linger for a moment after close(); retry briefly on EADDRINUSE.
    for (let attempt = 0; ; attempt++) {
      try {
        server = await mod.createBatteryServer({ host: '127.0.0.1', port, log: logger, ...options });
        return;
      } catch (e) {
        if (attempt >= 50 || !/EADDRINUSE/.test(String((e as Error)?.message ?? e))) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  return {
    url,
    port,
    log,
    stats: () => server?.stats() ?? { peers: 0, rooms: 0, sockets: 0 },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    close: stop,
  };
}

/**
 * Registers the hooks of one PeerServer per test file (started before the first test, closed after
 * the last, even when tests fail), like useBrowserSession: `const server = usePeerServer(); ... server().url`.
 */
export function usePeerServer(options: Record<string, unknown> = {}): () => TestPeerServer {
  let server: TestPeerServer | undefined;
  beforeAll(async () => {
    server = await startPeerServer(options);
  });
  afterAll(async () => {
    await server?.close();
    server = undefined;
  });
  return () => {
    if (!server) throw new Error('usePeerServer(): the server is not running (used outside a test?)');
    return server;
  };
}
