/**
 * The `debug` option's sink and the tab-side sources that feed it: the worker's own diagnostics
 * arrive as `diagnostic` messages; peer events, errors and the leader tab's mesh reports are
 * described here, in the tab, so the worker does not send them twice.
 */
import type { BatteryError } from '../shared-worker/protocol/errors.js';
import type { Diagnostic, LeaderToWorker, PeerEvent } from '../shared-worker/protocol/worker-protocol.js';

export type { Diagnostic, DiagnosticArea } from '../shared-worker/protocol/worker-protocol.js';

export type DiagnosticSink = (diagnostic: Diagnostic) => void;

/** `debug: true`. */
export const consoleDiagnostics: DiagnosticSink = (d) => console.debug(`[rtc-battery] ${d.area}: ${d.message}`);

export function describePeerEvent(e: PeerEvent): string {
  switch (e.name) {
    case 'sync':
      return `merged ${e.count} new cells and deletes from ${e.peerId}`;
    case 'peer-join':
      return `link opened to ${e.peerId} (not yet authenticated)`;
    case 'peer-ready':
      return `${e.peerId} authenticated; syncing`;
    case 'peer-leave':
      return `${e.peerId} left`;
    case 'connected':
      return 'signaling connected';
    case 'disconnected':
      return 'signaling disconnected';
    case 'reconnecting':
      return `signaling reconnecting (attempt ${e.attempt})`;
    case 'reconnected':
      return 'signaling reconnected';
    case 'sync-state':
      return `sync state: ${e.peers.map((p) => `${p.peerId} ${p.state} (to send ${p.toSend}, to receive ${p.toReceive})`).join('; ') || 'no peers'}`;
    case 'sync-progress':
      return `delta from ${e.peerId}: ${e.rowsDone} of ${e.rowsTotal} row changes`;
    case 'caught-up':
      return `caught up with ${e.peerId}`;
    case 'mailbox':
      return `mailbox ${e.state}`;
    case 'mailbox-progress':
      return `mailbox download (${e.phase}): ${e.done} of ${e.total}`;
    default: {
      const never: never = e;
      return String(never);
    }
  }
}

export function describeError(e: BatteryError): string {
  return `error ${e.code}: ${e.message}`;
}

/** The leader tab's reports to the worker that say something about the mesh; null for the rest (frames, drains). */
export function describeMeshReport(r: LeaderToWorker): string | null {
  switch (r.kind) {
    case 'link-open':
      return `link ${r.linkId} open to ${r.remotePeerId} (${r.initiator ? 'dialled' : 'answered'})`;
    case 'link-closed':
      return `link ${r.linkId} closed${r.reason ? `: ${r.reason}` : ''}`;
    case 'mesh-status': {
      const s = r.status;
      return `signaling ${s.signaling}${s.attempt !== undefined ? ` (attempt ${s.attempt})` : ''}${s.error ? `: ${s.error.message}` : ''}`;
    }
    case 'link-frame':
    case 'link-drain':
      return null;
    default: {
      const never: never = r;
      return String(never);
    }
  }
}
