import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import { ExpressPeerServer, type IClient } from 'peer';
import { BatteryError } from '../shared-worker/protocol/errors.js';
import { createHttpRoutes } from './http-routes.js';
import { RequestLimit } from './request-limit.js';
import { listen, serverUrl } from './listen.js';
import { consoleLogger, redactPeerId } from './log.js';
import { resolveOptions, type BatteryServerOptions } from './options.js';
import { RoomRegistry } from './room-registry.js';
import { SignalingGate, type RefusalCounts } from './signaling-gate.js';
import { createTimerScope } from './timer-scope.js';
import { openMailboxEndpoint, type MailboxEndpoint } from './mailbox/mailbox-endpoint.js';
import { createMailboxRoutes } from './mailbox/mailbox-routes.js';

export interface BatteryServerStats {
  /** Registered peer ids (what the room endpoint lists). */
  peers: number;
  rooms: number;
  /** Open signaling sockets (a re-attaching client briefly holds two). */
  sockets: number;
  /** Bytes sent to absent recipients in the last ~6 s, as counted against maxQueuedBytes. */
  queuedBytes: number;
  /** Ids of departed clients held for their tokens. */
  heldIds: number;
  /** Connections refused or closed, by rule. */
  refused: RefusalCounts;
  /** Open mailbox sockets (0 without a mailbox). */
  mailboxSockets: number;
}

export interface BatteryServer {
  /** `http://host:port<path>`: what clients pass as `signalingUrl`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** `ws://host:port<path>mailbox` when the server offers a mailbox. */
  readonly mailboxUrl: string | undefined;
  /**
   * Closes every signaling socket, stops `peer`'s sweep timers and, if the HTTP server is ours,
   * closes it: afterwards nothing of this server keeps the process alive. On an embedded server
   * the routes stay mounted but answer 503.
   */
  close(): Promise<void>;
  stats(): BatteryServerStats;
  /** Runs the mailbox's idle-expiry sweep now; resolves with how many mailboxes it deleted. */
  sweepMailboxes?: () => Promise<number>;
}

const OPEN_MESSAGE = JSON.stringify({ type: 'OPEN' });

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

  // The mailbox store opens first (a bad path or an unreachable database fails before we listen).
  const mailbox: MailboxEndpoint | undefined =
    options.mailbox === undefined || options.mailbox === false
      ? undefined
      : await openMailboxEndpoint(resolved.path, typeof options.mailbox === 'string' ? { path: options.mailbox } : options.mailbox, log);

  // Listen before mounting `peer`, whose sweep timers start at mount: a busy port then fails
  // with nothing to undo.
  let address: AddressInfo;
  try {
    address = server.listening ? (server.address() as AddressInfo) : await listen(server, resolved.port, resolved.host);
  } catch (err) {
    if (attachedRequestHandler) server.off('request', app);
    await mailbox?.close();
    throw err;
  }

  const registry = new RoomRegistry<IClient>();
  let closed = false;
  const gate = new SignalingGate({
    maxMessageBytes: resolved.maxMessageBytes,
    maxPeersPerRoom: resolved.maxPeersPerRoom,
    maxConnectionsPerAddress: resolved.maxConnectionsPerAddress,
    maxMessagesPerSecond: resolved.maxMessagesPerSecond,
    maxMessageBurst: resolved.maxMessageBurst,
    maxQueuedBytesPerAddress: resolved.maxQueuedBytesPerAddress,
    maxQueuedBytes: resolved.maxQueuedBytes,
    maxBufferedBytesPerRecipient: resolved.maxBufferedBytesPerRecipient,
    // `ws` counts what it has not handed to the kernel yet plus the socket's write buffer.
    unsentBytesOf: (peerId) => registry.ownerOf(peerId)?.getSocket()?.bufferedAmount ?? 0,
    trustProxy: resolved.trustProxy,
    idHoldMs: resolved.idHoldMs,
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
  const addressOfClient = new WeakMap<IClient, string>();
  peerApp.on('connection', (client) => {
    // `peer` re-attaches a socket that registers a connected id with its token, but sends it no
    // OPEN (only a new registration gets one), and a PeerJS client waits for OPEN forever. Our
    // clients do this whenever a new leader tab takes over before the old one's socket is gone
    // (they share one token per room, see id-reservations.ts), so the server answers for `peer`.
    if (registry.ownerOf(client.getId()) === client) client.getSocket()?.send(OPEN_MESSAGE);
    registry.add(client.getId(), client);
    gate.heldIds.release(client.getId());
    addressOfClient.set(client, gate.addressOf(client.getSocket()));
    log(`join ${redactPeerId(client.getId())} from ${gate.addressOf(client.getSocket())} (peers ${registry.peers}, rooms ${registry.roomCount})`);
  });
  peerApp.on('disconnect', (client) => {
    if (registry.remove(client.getId(), client)) {
      gate.heldIds.hold(client.getId(), client.getToken(), addressOfClient.get(client) ?? 'unknown');
      log(`leave ${redactPeerId(client.getId())} (peers ${registry.peers}, rooms ${registry.roomCount})`);
    }
  });
  // `peer` re-emits every socket error (an oversized message, a JSON parse failure) as `error`
  // on its app; an EventEmitter `error` with no listener throws and would take the process
  // down. The gate has already logged what matters.
  peerApp.on('error', () => {});

  const requestLimit = new RequestLimit(resolved.maxRequestsPerSecond, resolved.maxRequestBurst, resolved.trustProxy, log, options.now);
  app.use(resolved.path, requestLimit.middleware);
  app.use(resolved.path, createHttpRoutes(registry, () => closed));
  if (mailbox) app.use(resolved.path, createMailboxRoutes(mailbox, () => closed));
  // `peer` creates its WebSocketServer and starts its sweeps here, on 'mount'.
  const peerTimers = createTimerScope();
  peerTimers.run(() => app.use(resolved.path, peerApp));
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!requestLimit.admitUpgrade(req, socket)) return;
    if (mailbox?.handleUpgrade(req, socket, head)) return;
    gate.onUpgrade(req, socket, head);
  };
  server.on('upgrade', onUpgrade);

  const host = address.address;
  return {
    url: serverUrl(host, address.port, resolved.path),
    mailboxUrl: mailbox ? serverUrl(host, address.port, mailbox.path).replace(/^http/, 'ws') : undefined,
    port: address.port,
    host,
    ...(mailbox ? { sweepMailboxes: () => mailbox.sweep() } : {}),
    stats: () => ({
      peers: registry.peers,
      rooms: registry.roomCount,
      sockets: gate.sockets,
      queuedBytes: gate.queue.queued(),
      heldIds: gate.heldIds.size,
      refused: { ...gate.refused },
      mailboxSockets: mailbox?.sockets() ?? 0,
    }),
    close: async () => {
      if (closed) return;
      closed = true;
      server.off('upgrade', onUpgrade);
      await gate.closeAll();
      await mailbox?.close();
      peerTimers.stop();
      registry.clear();
      gate.heldIds.clear();
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
