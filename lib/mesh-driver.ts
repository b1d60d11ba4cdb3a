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

/** A driver that cannot reach peers: answers mesh-start with an error status, closes links asked about. */
export const noMeshDriver: MeshDriverFactory = ({ epoch, post }) => ({
  handle(m) {
    if (m.kind === 'mesh-start') {
      post({ kind: 'mesh-status', epoch, status: { signaling: 'error', error: { code: 'SIGNALING', message: 'this build has no PeerJS mesh' } } });
    } else if (m.kind === 'link-send') {
      post({ kind: 'link-closed', epoch, linkId: m.linkId, reason: 'no mesh in this build' });
    }
  },
  stop() {},
});
