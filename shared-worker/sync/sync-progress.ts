/**
 * The counting behind a peer's sync state and progress events (README "Sync status"): rows of
 * our delta answers the peer has not acknowledged yet, and how much of the peer's delta answer
 * has been applied here. Rows are row changes as pieceSize (delta-pieces.ts) counts them.
 */
import type { SyncProgress } from '../protocol/worker-protocol.js';
import type { DeltaTotal, PeerMessage } from './peer-protocol.js';
import { messageSize } from './delta-pieces.js';

/** Rows of our delta pieces still to be sent or not yet acknowledged (live batches are not counted). */
export class OutgoingDelta {
  private unsent = 0;
  /** Sent pieces: the send-window count after each, and its rows. */
  private readonly unacked: Array<{ seq: number; rows: number }> = [];

  queue(msgs: readonly PeerMessage[]): void {
    for (const m of msgs) if (m.t === 'delta') this.unsent += messageSize(m).rows;
  }

  sent(msg: PeerMessage, seq: number): void {
    if (msg.t !== 'delta') return;
    const rows = messageSize(msg).rows;
    this.unsent -= rows;
    this.unacked.push({ seq, rows });
  }

  /** Drops pieces the peer handled; true if that changed `pending()`. */
  acknowledged(ackedCount: number): boolean {
    let dropped = false;
    while (this.unacked.length > 0 && this.unacked[0]!.seq <= ackedCount) {
      this.unacked.shift();
      dropped = true;
    }
    return dropped;
  }

  pending(): number {
    let n = this.unsent;
    for (const p of this.unacked) n += p.rows;
    return n;
  }
}

/** One delta answer from the peer being applied, piece by piece. */
export class DeltaProgress {
  private rowsDone = 0;
  private bytesDone = 0;

  /** `total` as the sender announced it; without one (an older sender) the totals grow with what arrived. */
  constructor(
    private readonly peerId: string,
    private readonly total: DeltaTotal | undefined,
  ) {}

  applied(piece: DeltaTotal, last: boolean): SyncProgress {
    this.rowsDone += piece.rows;
    this.bytesDone += piece.bytes;
    // A sender's total never understates a complete answer; `last` settles it either way.
    const rowsTotal = last || !this.total ? this.rowsDone : Math.max(this.total.rows, this.rowsDone);
    const bytesTotal = last || !this.total ? this.bytesDone : Math.max(this.total.bytes, this.bytesDone);
    return { peerId: this.peerId, rowsDone: this.rowsDone, rowsTotal, bytesDone: this.bytesDone, bytesTotal };
  }

  remaining(): number {
    return this.total ? Math.max(0, this.total.rows - this.rowsDone) : 0;
  }
}
