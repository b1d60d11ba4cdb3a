import type pg from 'pg';
import { BatteryError } from '../../shared-worker/protocol/errors.js';
import type { MailboxStore } from './mailbox-store.js';

/**
 * `createBatteryServer({ mailbox })`: a string is the SQLite file path, or a `postgres://` /
 * `postgresql://` URL; an object chooses the store and the limits. Documented in README,
 * "Mailbox".
 */
export interface MailboxOptions {
  /** SQLite file, or a Postgres URL. Ignored when `store` or `postgres` is given. */
  path?: string;
  /** A `pg` pool config (several server instances share one database). */
  postgres?: string | pg.PoolConfig;
  /** Any MailboxStore (tests pass the in-memory one). The server closes it on close(). */
  store?: MailboxStore;
  /** Bytes one mailbox may hold (blobs + snapshot). */
  quotaBytes?: number;
  /** Largest sealed blob one append may carry. */
  maxBlobBytes?: number;
  /** Largest sealed snapshot. */
  maxSnapshotBytes?: number;
  /** Requests per second per remote address, sustained. */
  requestsPerSecond?: number;
  /** Requests an address may send in a burst above the sustained rate. */
  requestBurst?: number;
  /** A mailbox nobody opened or wrote for this long is deleted. */
  idleExpiryMs?: number;
  /** How often the expiry sweep runs. */
  sweepIntervalMs?: number;
  /** Clock for activity stamps and expiry (tests pass a fake one). */
  now?: () => number;
}

export interface ResolvedMailboxLimits {
  quotaBytes: number;
  maxBlobBytes: number;
  maxSnapshotBytes: number;
  requestsPerSecond: number;
  requestBurst: number;
  idleExpiryMs: number;
  sweepIntervalMs: number;
}

const DAY = 24 * 60 * 60 * 1000;

export const MAILBOX_DEFAULTS: ResolvedMailboxLimits = {
  // Enough for a few hundred thousand small rows between compactions; a room past it compacts.
  quotaBytes: 256 * 1024 * 1024,
  // A sealed batch of changes; the client splits bigger uploads.
  maxBlobBytes: 1024 * 1024,
  maxSnapshotBytes: 64 * 1024 * 1024,
  // A client uploads one blob per local commit and pages downloads by up to 512 blobs, so a
  // burst of 400 covers a busy reconnect; 40/s sustained is far above one user's typing.
  requestsPerSecond: 40,
  requestBurst: 400,
  idleExpiryMs: 90 * DAY,
  sweepIntervalMs: 60 * 60 * 1000,
};

export function resolveMailboxLimits(options: MailboxOptions): ResolvedMailboxLimits {
  const limits: ResolvedMailboxLimits = {
    quotaBytes: options.quotaBytes ?? MAILBOX_DEFAULTS.quotaBytes,
    maxBlobBytes: options.maxBlobBytes ?? MAILBOX_DEFAULTS.maxBlobBytes,
    maxSnapshotBytes: options.maxSnapshotBytes ?? MAILBOX_DEFAULTS.maxSnapshotBytes,
    requestsPerSecond: options.requestsPerSecond ?? MAILBOX_DEFAULTS.requestsPerSecond,
    requestBurst: options.requestBurst ?? MAILBOX_DEFAULTS.requestBurst,
    idleExpiryMs: options.idleExpiryMs ?? MAILBOX_DEFAULTS.idleExpiryMs,
    sweepIntervalMs: options.sweepIntervalMs ?? MAILBOX_DEFAULTS.sweepIntervalMs,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new BatteryError('SIGNALING', `mailbox.${name} must be a positive integer, got ${String(value)}`, { option: `mailbox.${name}`, value });
    }
  }
  return limits;
}
