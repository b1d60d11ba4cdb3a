/**
 * The leader tab's end of the worker relay: turns the worker's `mesh-start`/`mesh-stop`/
 * `link-send`/`link-close` into PeerMesh calls, and the mesh's links and signaling status into
 * `link-open`/`link-frame`/`link-drain`/`link-closed`/`mesh-status`, all tagged with this
 * leader's epoch (shared-worker/protocol/worker-protocol.ts). One relay per leadership: a tab that loses the lead
 * stops its relay, and the new leader's worker session starts a fresh one.
 */
import { BatteryError, serializeError } from '../../shared-worker/protocol/errors.js';
import type { LeaderToWorker, MeshStartConfig, WorkerToLeader } from '../../shared-worker/protocol/worker-protocol.js';
import type { DataConnectionLink } from './data-connection-link.js';
import { PeerMesh, type MeshTimers } from './peer-mesh.js';
import type { PeerFactory } from './peerjs-seam.js';
import { roomDirectory, type FetchLike } from './room-directory.js';
import { parseSignalingUrl } from '../../shared-worker/protocol/signaling-url.js';

export interface LeaderRelayOptions {
  epoch: number;
  post(message: LeaderToWorker): void;
  createPeer: PeerFactory;
  fetch?: FetchLike;
  timers?: MeshTimers;
  random?: () => number;
  pollMs?: number;
}

export interface LeaderRelay {
  readonly epoch: number;
  /** Feed every WorkerToLeader message here; other epochs are ignored. */
  handle(message: WorkerToLeader): void;
  /** Leaves the room and closes every link (the tab lost the lead or is closing). */
  stop(): void;
}

interface RelayedEntry {
  link: DataConnectionLink;
  /** Cumulative bytes taken from link-send (the worker's RelayedLink subtracts it from what it sent). */
  consumed: number;
  reportScheduled: boolean;
  closingByWorker: boolean;
}

export function createLeaderRelay(options: LeaderRelayOptions): LeaderRelay {
  const { epoch, post } = options;
  const timers = options.timers ?? { setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms), clearTimeout: (h) => globalThis.clearTimeout(h as number) };
  let mesh: PeerMesh | null = null;
  let meshKey = '';
  const entries = new Map<string, RelayedEntry>();

  const reportDrain = (linkId: string) => {
    const entry = entries.get(linkId);
    if (!entry) return;
    entry.reportScheduled = false;
    post({ kind: 'link-drain', epoch, linkId, consumed: entry.consumed, bufferedAmount: entry.link.bufferedAmount() });
  };

  const scheduleDrainReport = (entry: RelayedEntry) => {
    if (entry.reportScheduled) return;
    entry.reportScheduled = true;
    // One report per burst of link-sends rather than one per frame.
    timers.setTimeout(() => reportDrain(entry.link.id), 0);
  };

  const adopt = (link: DataConnectionLink) => {
    const entry: RelayedEntry = { link, consumed: 0, reportScheduled: false, closingByWorker: false };
    entries.set(link.id, entry);
    post({ kind: 'link-open', epoch, linkId: link.id, remotePeerId: link.remotePeerId, initiator: link.initiator });
    link.onFrame((bytes) => post({ kind: 'link-frame', epoch, linkId: link.id, bytes }));
    link.onDrain(() => reportDrain(link.id));
    link.onClose((reason) => {
      entries.delete(link.id);
      if (!entry.closingByWorker) post({ kind: 'link-closed', epoch, linkId: link.id, ...(reason ? { reason } : {}) });
    });
  };

  const stopMesh = () => {
    mesh?.stop();
    mesh = null;
    meshKey = '';
  };

  const startMesh = (config: MeshStartConfig) => {
    const key = JSON.stringify([config.signalingUrl, config.roomId, config.selfPeerId, config.signalingToken, config.iceServers]);
    if (mesh && key === meshKey) return;
    stopMesh();
    let target;
    try {
      target = parseSignalingUrl(config.signalingUrl);
    } catch (e) {
      const error = e instanceof BatteryError ? e : new BatteryError('SIGNALING', String(e));
      post({ kind: 'mesh-status', epoch, status: { signaling: 'error', error: serializeError(error) } });
      return;
    }
    meshKey = key;
    mesh = new PeerMesh(
      { selfPeerId: config.selfPeerId, roomId: config.roomId, signalingToken: config.signalingToken, target, iceServers: config.iceServers ?? [] },
      {
        createPeer: options.createPeer,
        listMembers: roomDirectory(target.httpBase, options.fetch),
        timers,
        ...(options.random ? { random: options.random } : {}),
        ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      },
      {
        status: (status) => post({ kind: 'mesh-status', epoch, status }),
        link: adopt,
      },
    );
    mesh.start();
  };

  return {
    epoch,
    handle(message) {
      if (message.epoch !== epoch) return;
      switch (message.kind) {
        case 'mesh-start':
          startMesh(message);
          return;
        case 'mesh-stop':
          stopMesh();
          return;
        case 'link-send': {
          const entry = entries.get(message.linkId);
          if (!entry) {
            post({ kind: 'link-closed', epoch, linkId: message.linkId, reason: 'no such link' });
            return;
          }
          entry.consumed += message.bytes.byteLength;
          entry.link.send(message.bytes);
          scheduleDrainReport(entry);
          return;
        }
        case 'link-close': {
          const entry = entries.get(message.linkId);
          if (!entry) return;
          entry.closingByWorker = true;
          entry.link.close(message.reason);
          return;
        }
        default: {
          const unknown: never = message;
          void unknown;
        }
      }
    },
    stop() {
      stopMesh();
      entries.clear();
    },
  };
}
