/**
 * The mailbox's storage seam. Three implementations run one acceptance suite
 * (spec/node/peer-server/mailbox/store-acceptance.ts): memory (tests), SQLite (one server
 * process, the default) and PostgreSQL (several server processes on one database).
 *
 * Every mutating method resolves only after its change is committed, so an acknowledgement the
 * server sends afterwards never names a blob a crash could lose.
 */
import type { SnapshotInfo, StoredBlob } from '../../shared-worker/protocol/mailbox-protocol.js';

/** 64 lowercase hex characters: SHA-256 of the client's mailbox key. */
export type MailboxId = string;

export interface MailboxState {
  /** Highest sequence ever appended (0 for an empty mailbox); never goes down. */
  head: number;
  /** Stored bytes: blobs plus snapshot, what the quota counts. */
  bytes: number;
  snapshot: SnapshotInfo | null;
}

export type AppendOutcome =
  | { ok: true }
  | { ok: false; reason: 'conflict'; head: number }
  | { ok: false; reason: 'quota'; bytes: number };

export type SnapshotOutcome =
  | { ok: true; dropped: number }
  /** covers is above head, or not above the stored snapshot's covers. */
  | { ok: false; reason: 'conflict'; head: number }
  | { ok: false; reason: 'quota'; bytes: number };

export interface SnapshotSlice {
  covers: number;
  total: number;
  bytes: Uint8Array;
}

/** Called after an append commits, in every server process that shares the store. */
export type AppendListener = (mailbox: MailboxId, seq: number) => void;

export interface MailboxStore {
  state(mailbox: MailboxId): Promise<MailboxState>;
  /**
   * Appends at `seq`, which must be head + 1 (else `conflict`), if the mailbox's bytes stay
   * within `quotaBytes` (else `quota`). Records `now` as the mailbox's last activity.
   */
  append(mailbox: MailboxId, seq: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<AppendOutcome>;
  /** Blobs with seq > after, ascending, at most `limit`. */
  read(mailbox: MailboxId, after: number, limit: number): Promise<StoredBlob[]>;
  /**
   * Stores a snapshot replacing every blob with seq <= covers (covers <= head, and above any
   * stored snapshot's covers) and deletes those blobs, in one transaction.
   */
  putSnapshot(mailbox: MailboxId, covers: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<SnapshotOutcome>;
  /** A byte range of the current snapshot, or null when there is none. */
  readSnapshot(mailbox: MailboxId, offset: number, length: number): Promise<SnapshotSlice | null>;
  /** Records activity (a client opened the mailbox), so it does not expire while in use. */
  touch(mailbox: MailboxId, now: number): Promise<void>;
  /** Deletes mailboxes whose last activity is before `cutoff`; returns how many. */
  expireIdle(cutoff: number): Promise<number>;
  onAppend(listener: AppendListener): () => void;
  close(): Promise<void>;
}
