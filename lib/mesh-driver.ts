/**
 * The leader tab's half of the peer mesh. The worker decides what the mesh does and posts the
 * leader commands (`mesh-start`, `link-send`, ...); a MeshDriver carries them out with PeerJS
 * and posts reports back (`link-open`, `link-frame`, ...), tagged with its epoch. One driver per
 * leadership (epoch): the Battery handle starts one when the worker grants leadership and stops
 * it when leadership ends. The PeerJS driver is lib/mesh/browser-leader-relay.ts; this seam
 * keeps the handle testable without PeerJS.
 */
import type { LeaderToWorker, WorkerToLeader } from '../shared-worker/protocol/worker-protocol.js';

export interface MeshDriver {
  /** Every leader command whose epoch is the driver's. */
  handle(message: WorkerToLeader): void;
  /** Leadership ended or the handle closed: close every connection. */
  stop(): void;
}

export type MeshDriverFactory = (options: { epoch: number; post(message: LeaderToWorker): void }) => MeshDriver;

