/**
 * When the durable log has grown enough that a fresh snapshot pays for itself.
 *
 * Two costs pull in opposite directions: a snapshot is an O(database) copy plus a write of the
 * whole file (in the background, durable-log.ts), while every log entry after it is replayed one
 * by one at start-up. So:
 *   - records: start-up replays at most this many entries before a snapshot is due. Measured on a
 *     loaded 2-core box (Node 20): 2000 one-row entries replay in ~0.5 s with runs merged
 *     (snapshot-replay.ts), 3-6 s at one call per entry, so 2000 keeps a cold start well under a second;
 *   - bytes: a snapshot is due once the log holds as many bytes as the last snapshot (but at least
 *     4 MiB): storage stays under ~2x the database, and each O(database) snapshot is paid for by at
 *     least as many bytes of writes, so its cost per written byte stays constant as the data grows.
 * Past either limit a snapshot is due ('when-idle'; 'now' past HARD_FACTOR times them). The log
 * starts a background snapshot for either (no write waits for it, so there is no idle moment to
 * wait for); the two urgencies only tell how far behind it is.
 */
export interface SnapshotThresholds {
  records: number;
  bytes: number;
}

export const DEFAULT_SNAPSHOT_THRESHOLDS: SnapshotThresholds = { records: 2000, bytes: 4 * 1024 * 1024 };
const HARD_FACTOR = 4;

export interface LogStats {
  /** Log entries written since the current snapshot. */
  records: number;
  /** Their encoded size. */
  bytes: number;
  /** Size of the current snapshot. */
  snapshotBytes: number;
}

export type SnapshotUrgency = 'none' | 'when-idle' | 'now';

export function snapshotUrgency(stats: LogStats, t: SnapshotThresholds = DEFAULT_SNAPSHOT_THRESHOLDS): SnapshotUrgency {
  const byteLimit = Math.max(t.bytes, stats.snapshotBytes);
  if (stats.records >= t.records * HARD_FACTOR || stats.bytes >= byteLimit * HARD_FACTOR) return 'now';
  if (stats.records >= t.records || stats.bytes >= byteLimit) return 'when-idle';
  return 'none';
}
