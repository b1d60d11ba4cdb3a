import { AUTH_TIMEOUT_MS } from '../../lib/peer-auth.js';
import { DEFAULT_FRAMING_LIMITS, type FramingLimits } from '../../lib/framing.js';

export interface SyncOptions {
  /** A link that has not authenticated by then is closed (DESIGN: "within a few seconds"). */
  authTimeoutMs: number;
  /** A ping goes out this often once authenticated. */
  pingIntervalMs: number;
  /** Silence for this many ping intervals closes the link (9 s with the defaults). */
  missedPingsAllowed: number;
  /**
   * Target rows per delta piece. ~2000 rows of a few short columns encode to 100–200 KB, i.e. a
   * few full 64 KiB frames per piece, while the receiver applies the previous piece.
   */
  pieceRows: number;
  /** A single same-stamp batch is only split above this many rows (see delta-pieces.ts). */
  maxUnsplitRows: number;
  framing: FramingLimits;
}

export const DEFAULT_SYNC_OPTIONS: SyncOptions = {
  authTimeoutMs: AUTH_TIMEOUT_MS,
  pingIntervalMs: 3_000,
  missedPingsAllowed: 3,
  pieceRows: 2_000,
  maxUnsplitRows: 250_000,
  framing: DEFAULT_FRAMING_LIMITS,
};
