import { AUTH_TIMEOUT_MS } from './peer-auth.js';
import { DEFAULT_FRAMING_LIMITS, type FramingLimits } from './framing.js';

export interface SyncOptions {
  /** A link that has not authenticated by then is closed (docs/security.md "Links"). */
  authTimeoutMs: number;
  /** A ping goes out this often once authenticated. */
  pingIntervalMs: number;
  /**
   * Silence for this many ping intervals closes the link (30 s with the defaults). Generous on
   * purpose: sql.js applies a delta piece synchronously, and a worker busy applying a 50k-row
   * piece (~5 s measured in Node on a loaded 2-core box, bench/sync-bench.ts) answers no pings;
   * a tight window would drop the link and resend the same piece forever.
   */
  missedPingsAllowed: number;
  /**
   * Target rows per delta piece. 2000 rows of a few short columns are ~110 KB in the wire form
   * (56 B/row in bench/sync-bench.ts), i.e. two 64 KiB frames, while the receiver applies the
   * previous piece.
   */
  pieceRows: number;
  /**
   * A single same-stamp batch (one exec) is only split above this many rows (see delta-pieces.ts:
   * a link lost inside a split batch can leave a gap). Bounded so one apply stays short (above).
   */
  maxUnsplitRows: number;
  /**
   * Estimated bytes per delta piece or live message at most: half the receiver's message cap
   * (64 MiB), since the estimate is an upper bound but a peer may run other limits.
   */
  maxPieceBytes: number;
  /** Data messages (delta pieces, live batches) in flight before the sender waits for acks. */
  sendWindow: number;
  framing: FramingLimits;
}

export const DEFAULT_SYNC_OPTIONS: SyncOptions = {
  authTimeoutMs: AUTH_TIMEOUT_MS,
  pingIntervalMs: 5_000,
  missedPingsAllowed: 6,
  pieceRows: 2_000,
  maxUnsplitRows: 50_000,
  maxPieceBytes: DEFAULT_FRAMING_LIMITS.maxMessageBytes / 2,
  sendWindow: 8,
  framing: DEFAULT_FRAMING_LIMITS,
};
