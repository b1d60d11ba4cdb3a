/**
 * The leader relay with the real PeerJS and fetch: what lib/battery.ts starts when its tab is
 * elected leader (`createBrowserLeaderRelay({epoch, post})`, then `relay.handle(msg)` for every
 * mesh-start/mesh-stop/link-send/link-close the worker posts, `relay.stop()` on losing the lead).
 */
import { Peer } from 'peerjs';
import { createLeaderRelay, type LeaderRelay } from './leader-relay.js';
import type { LeaderToWorker } from '../../shared-worker/protocol/worker-protocol.js';
import type { PeerFactory, PeerLike } from './peerjs-seam.js';

const peerJsFactory: PeerFactory = (id, options) => new Peer(id, options) as unknown as PeerLike;

export function createBrowserLeaderRelay(options: { epoch: number; post(message: LeaderToWorker): void }): LeaderRelay {
  return createLeaderRelay({ ...options, createPeer: peerJsFactory });
}
