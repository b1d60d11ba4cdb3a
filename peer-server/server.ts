import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ExpressPeerServer, type IClient } from 'peer';
import { BatteryError } from '../shared-worker/protocol/errors.js';
import { createHttpRoutes } from './http-routes.js';
import { listen, serverUrl } from './listen.js';
import { consoleLogger, redactPeerId } from './log.js';
import { resolveOptions, type BatteryServerOptions } from './options.js';
import { RoomRegistry } from './room-registry.js';
import { SignalingGate, type RefusalCounts } from './signaling-gate.js';
import { createTimerScope } from './timer-scope.js';

export interface BatteryServerStats {
  /** Registered peer ids (what the room endpoint lists). */
  peers: number;
  rooms: number;
  /** Open signaling sockets (a re-attaching client briefly holds two). */
  sockets: number;
  /** Connections refused or closed, by rule. */
  refused: RefusalCounts;
}

export interface BatteryServer {
  /** `http://host:port<path>`: what clients pass as `signalingUrl`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /**
   * Closes every signaling socket, stops `peer`'s sweep timers and, if the HTTP server is ours,
   * closes it: afterwards nothing of this server keeps the process alive. On an embedded server
   * the routes stay mounted but answer 503.
   */
  close(): Promise<void>;
  stats(): BatteryServerStats;
}

/** The PeerJS client's default API key; the room id in the peer id does the partitioning. */
const PEERJS_KEY = 'peerjs';

export async function createBatteryServer(options: BatteryServerOptions = {}): Promise<BatteryServer> {
  const resolved = resolveOptions(options);
  const log = options.log ?? consoleLogger;
  const app = options.app ?? express();
  const ownsServer = options.server === undefined;
  const server: HttpServer = options.server ?? createServer(app);
  const attachedRequestHandler = options.server !== undefined && options.app === undefined;
  if (attachedRequestHandler) {
    if (server.listenerCount('request') > 0) {
      throw new BatteryError('SIGNALING', 'the given server already has a request handler: pass its express app as `app` too', {
        option: 'app',
      });
    }
    server.on('request', app);
  }

  // Listen before mounting `peer`, whose sweep timers start at mount: a busy port then fails
  // with nothing to undo.
  let address: AddressInfo;
  try {
    address = server.listening ? (server.address() as AddressInfo) : await listen(server, resolved.port, resolved.host);
  } catch (err) {
    if (attachedRequestHandler) server.off('request', app);
    throw err;
  }

  const registry = new RoomRegistry<IClient>();
  let closed = false;
  const gate = new SignalingGate({
    maxMessageBytes: resolved.maxMessageBytes,
    maxPeersPerRoom: resolved.maxPeersPerRoom,
    maxConnectionsPerAddress: resolved.maxConnectionsPerAddress,
    registry,
    log,
    rejectOtherUpgrades: ownsServer,
  });
  const peerApp = ExpressPeerServer(server, {
    path: '/',
    key: PEERJS_KEY,
    allow_discovery: false,
    createWebSocketServer: gate.createWebSocketServer,
  });
  peerApp.on('connection', (client) => {
    registry.add(client.getId(), client);
    log(`join ${redactPeerId(client.getId())} from ${gate.addressOf(client.getSocket())} (peers ${registry.peers}, rooms ${registry.roomCount})`);
  });
  peerApp.on('disconnect', (client) => {
    if (registry.remove(client.getId(), client)) {
      log(`leave ${redactPeerId(client.getId())} (peers ${registry.peers}, rooms ${registry.roomCount})`);
    }
  });
  // `peer` re-emits every socket error (an oversized message, a JSON parse failure) as `error`
  // on its app; an EventEmitter `error` with no listener throws and would take the process
  // down. The gate has already logged what matters.
  peerApp.on('error', () => {});

  app.use(resolved.path, createHttpRoutes(registry, () => closed));
  // `peer` creates its WebSocketServer and starts its sweeps here, on 'mount'.
  const peerTimers = createTimerScope();
  peerTimers.run(() => app.use(resolved.path, peerApp));
  server.on('upgrade', gate.onUpgrade);

  const host = address.address;
  return {
    url: serverUrl(host, address.port, resolved.path),
    port: address.port,
    host,
    stats: () => ({ peers: registry.peers, rooms: registry.roomCount, sockets: gate.sockets, refused: { ...gate.refused } }),
    close: async () => {
      if (closed) return;
      closed = true;
      server.off('upgrade', gate.onUpgrade);
      await gate.closeAll();
      peerTimers.stop();
      registry.clear();
      if (attachedRequestHandler) server.off('request', app);
      if (ownsServer) await closeHttpServer(server);
    },
  };
}

function closeHttpServer(server: HttpServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Keep-alive HTTP connections would hold `close` open until they time out (5 s in Node 20).
    server.closeAllConnections();
  });
}
