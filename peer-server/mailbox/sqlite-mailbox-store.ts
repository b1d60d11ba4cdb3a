import Database from 'better-sqlite3';
import type { StoredBlob } from '../../shared-worker/protocol/mailbox-protocol.js';
import { AppendListeners } from './append-listeners.js';
import type { AppendOutcome, MailboxId, MailboxState, MailboxStore, SnapshotOutcome, SnapshotSlice } from './mailbox-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mailboxes (
  id TEXT PRIMARY KEY,
  head INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  last_active INTEGER NOT NULL,
  snapshot_covers INTEGER,
  snapshot BLOB
);
CREATE TABLE IF NOT EXISTS blobs (
  mailbox TEXT NOT NULL,
  seq INTEGER NOT NULL,
  blob BLOB NOT NULL,
  PRIMARY KEY (mailbox, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mailboxes_last_active ON mailboxes (last_active);
`;

interface BoxRow {
  head: number;
  bytes: number;
  snapshot_covers: number | null;
  snapshot_size: number | null;
}

/**
 * One SQLite file (better-sqlite3): the default store for a single server process. WAL with
 * `synchronous = FULL`, so a committed append survives a power cut, not only a crash; live
 * pushes stay in this process (a second process on the same file would not hear them: use the
 * Postgres store for several instances).
 */
export class SqliteMailboxStore implements MailboxStore {
  private readonly db: Database.Database;
  private readonly listeners = new AppendListeners();
  private readonly q;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // A second process (a CLI restarting over a closing one) waits instead of failing at once.
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.q = {
      box: db.prepare<[string], BoxRow>('SELECT head, bytes, snapshot_covers, length(snapshot) AS snapshot_size FROM mailboxes WHERE id = ?'),
      insertBox: db.prepare('INSERT INTO mailboxes (id, head, bytes, last_active) VALUES (?, 0, 0, ?) ON CONFLICT (id) DO NOTHING'),
      insertBlob: db.prepare('INSERT INTO blobs (mailbox, seq, blob) VALUES (?, ?, ?)'),
      advance: db.prepare('UPDATE mailboxes SET head = ?, bytes = bytes + ?, last_active = ? WHERE id = ?'),
      read: db.prepare<[string, number, number], { seq: number; blob: Buffer }>('SELECT seq, blob FROM blobs WHERE mailbox = ? AND seq > ? ORDER BY seq LIMIT ?'),
      coveredBytes: db.prepare<[string, number], { n: number; bytes: number | null }>('SELECT count(*) AS n, sum(length(blob)) AS bytes FROM blobs WHERE mailbox = ? AND seq <= ?'),
      dropCovered: db.prepare('DELETE FROM blobs WHERE mailbox = ? AND seq <= ?'),
      setSnapshot: db.prepare('UPDATE mailboxes SET snapshot_covers = ?, snapshot = ?, bytes = ?, last_active = ? WHERE id = ?'),
      snapshotSlice: db.prepare<[number, number, string], { covers: number; total: number; bytes: Buffer }>(
        'SELECT snapshot_covers AS covers, length(snapshot) AS total, substr(snapshot, ?, ?) AS bytes FROM mailboxes WHERE id = ? AND snapshot IS NOT NULL',
      ),
      touch: db.prepare('UPDATE mailboxes SET last_active = max(last_active, ?) WHERE id = ?'),
      idle: db.prepare<[number], { id: string }>('SELECT id FROM mailboxes WHERE last_active < ?'),
      dropBlobs: db.prepare('DELETE FROM blobs WHERE mailbox = ?'),
      dropBox: db.prepare('DELETE FROM mailboxes WHERE id = ?'),
    };
  }

  private readBox(mailbox: MailboxId): BoxRow | undefined {
    return this.q.box.get(mailbox);
  }

  async state(mailbox: MailboxId): Promise<MailboxState> {
    const row = this.readBox(mailbox);
    if (!row) return { head: 0, bytes: 0, snapshot: null };
    return { head: row.head, bytes: row.bytes, snapshot: row.snapshot_covers === null ? null : { covers: row.snapshot_covers, size: row.snapshot_size ?? 0 } };
  }

  async append(mailbox: MailboxId, seq: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<AppendOutcome> {
    const outcome = this.db.transaction((): AppendOutcome => {
      const row = this.readBox(mailbox);
      const head = row?.head ?? 0;
      if (seq !== head + 1) return { ok: false, reason: 'conflict', head };
      const bytes = row?.bytes ?? 0;
      if (bytes + blob.length > quotaBytes) return { ok: false, reason: 'quota', bytes };
      this.q.insertBox.run(mailbox, now);
      this.q.insertBlob.run(mailbox, seq, blob);
      this.q.advance.run(seq, blob.length, now, mailbox);
      return { ok: true };
    }).immediate();
    if (outcome.ok) this.listeners.emit(mailbox, seq);
    return outcome;
  }

  async read(mailbox: MailboxId, after: number, limit: number): Promise<StoredBlob[]> {
    return this.q.read.all(mailbox, after, limit).map((r) => ({ seq: r.seq, blob: new Uint8Array(r.blob) }));
  }

  async putSnapshot(mailbox: MailboxId, covers: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<SnapshotOutcome> {
    return this.db.transaction((): SnapshotOutcome => {
      const row = this.readBox(mailbox);
      const head = row?.head ?? 0;
      if (!row || covers > head || (row.snapshot_covers !== null && covers <= row.snapshot_covers)) return { ok: false, reason: 'conflict', head };
      const covered = this.q.coveredBytes.get(mailbox, covers)!;
      const bytes = row.bytes - (covered.bytes ?? 0) - (row.snapshot_size ?? 0) + blob.length;
      if (bytes > quotaBytes) return { ok: false, reason: 'quota', bytes: row.bytes };
      this.q.dropCovered.run(mailbox, covers);
      this.q.setSnapshot.run(covers, blob, bytes, now, mailbox);
      return { ok: true, dropped: covered.n };
    }).immediate();
  }

  async readSnapshot(mailbox: MailboxId, offset: number, length: number): Promise<SnapshotSlice | null> {
    // substr on a BLOB counts bytes, from 1.
    const row = this.q.snapshotSlice.get(offset + 1, length, mailbox);
    if (!row) return null;
    return { covers: row.covers, total: row.total, bytes: new Uint8Array(row.bytes ?? []) };
  }

  async touch(mailbox: MailboxId, now: number): Promise<void> {
    this.q.touch.run(now, mailbox);
  }

  async expireIdle(cutoff: number): Promise<number> {
    return this.db.transaction(() => {
      const ids = this.q.idle.all(cutoff);
      for (const { id } of ids) {
        this.q.dropBlobs.run(id);
        this.q.dropBox.run(id);
      }
      return ids.length;
    }).immediate();
  }

  onAppend(listener: (mailbox: MailboxId, seq: number) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }
}
