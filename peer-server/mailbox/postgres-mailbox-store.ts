import pg from 'pg';
import type { StoredBlob } from '../../shared-worker/protocol/mailbox-protocol.js';
import { AppendListeners } from './append-listeners.js';
import type { AppendOutcome, MailboxId, MailboxState, MailboxStore, SnapshotOutcome, SnapshotSlice } from './mailbox-store.js';

const CHANNEL = 'rtc_battery_mailbox';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rtc_battery_mailboxes (
  id TEXT PRIMARY KEY,
  head BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  last_active BIGINT NOT NULL,
  snapshot_covers BIGINT,
  snapshot BYTEA
);
CREATE TABLE IF NOT EXISTS rtc_battery_blobs (
  mailbox TEXT NOT NULL,
  seq BIGINT NOT NULL,
  blob BYTEA NOT NULL,
  PRIMARY KEY (mailbox, seq)
);
CREATE INDEX IF NOT EXISTS rtc_battery_mailboxes_last_active ON rtc_battery_mailboxes (last_active);
`;

export interface PostgresStoreOptions {
  /** `postgres://…` or `postgresql://…`, or a `pg` pool config (host may be a Unix socket folder). */
  connection: string | pg.PoolConfig;
}

/**
 * PostgreSQL: several server processes share one database. An append locks its mailbox row
 * (`SELECT … FOR UPDATE`), so concurrent appenders on different instances serialize per mailbox,
 * and sends `NOTIFY` in the same transaction, which Postgres delivers only on commit: every
 * instance (this one included) learns of the blob through its `LISTEN` connection and pushes it
 * to its subscribers.
 */
export class PostgresMailboxStore implements MailboxStore {
  private readonly listeners = new AppendListeners();
  private listener: pg.PoolClient | undefined;
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(options: PostgresStoreOptions): Promise<PostgresMailboxStore> {
    const config = typeof options.connection === 'string' ? { connectionString: options.connection } : options.connection;
    const pool = new pg.Pool({ max: 8, ...config });
    // An idle client whose connection drops emits 'error' on the pool; unhandled, that would end the process.
    pool.on('error', () => {});
    const store = new PostgresMailboxStore(pool);
    try {
      // Two instances starting together race on CREATE … IF NOT EXISTS (a unique violation in
      // pg_type); an advisory lock makes the schema step one at a time.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(727274)');
        await client.query(SCHEMA);
        await client.query('SELECT pg_advisory_unlock(727274)');
      } finally {
        client.release();
      }
      await store.listen();
    } catch (err) {
      await pool.end();
      throw err;
    }
    return store;
  }

  private async listen(): Promise<void> {
    const client = await this.pool.connect();
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || !msg.payload) return;
      const [mailbox, seq] = msg.payload.split(':');
      if (mailbox && seq) this.listeners.emit(mailbox, Number(seq));
    });
    client.on('error', () => {});
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<{ commit: boolean; value: T }>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { commit, value } = await work(client);
      await client.query(commit ? 'COMMIT' : 'ROLLBACK');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async state(mailbox: MailboxId): Promise<MailboxState> {
    const { rows } = await this.pool.query(
      'SELECT head, bytes, snapshot_covers, length(snapshot) AS snapshot_size FROM rtc_battery_mailboxes WHERE id = $1',
      [mailbox],
    );
    const row = rows[0];
    if (!row) return { head: 0, bytes: 0, snapshot: null };
    return {
      head: Number(row.head),
      bytes: Number(row.bytes),
      snapshot: row.snapshot_covers === null ? null : { covers: Number(row.snapshot_covers), size: Number(row.snapshot_size) },
    };
  }

  private async lockBox(client: pg.PoolClient, mailbox: MailboxId, now: number) {
    await client.query('INSERT INTO rtc_battery_mailboxes (id, head, bytes, last_active) VALUES ($1, 0, 0, $2) ON CONFLICT (id) DO NOTHING', [mailbox, now]);
    const { rows } = await client.query(
      'SELECT head, bytes, snapshot_covers, length(snapshot) AS snapshot_size FROM rtc_battery_mailboxes WHERE id = $1 FOR UPDATE',
      [mailbox],
    );
    const row = rows[0];
    return {
      head: Number(row.head),
      bytes: Number(row.bytes),
      snapshotCovers: row.snapshot_covers === null ? null : Number(row.snapshot_covers),
      snapshotSize: row.snapshot_size === null ? 0 : Number(row.snapshot_size),
    };
  }

  async append(mailbox: MailboxId, seq: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<AppendOutcome> {
    return this.transaction<AppendOutcome>(async (client) => {
      const box = await this.lockBox(client, mailbox, now);
      if (seq !== box.head + 1) return { commit: false, value: { ok: false, reason: 'conflict', head: box.head } };
      if (box.bytes + blob.length > quotaBytes) return { commit: false, value: { ok: false, reason: 'quota', bytes: box.bytes } };
      await client.query('INSERT INTO rtc_battery_blobs (mailbox, seq, blob) VALUES ($1, $2, $3)', [mailbox, seq, Buffer.from(blob.buffer, blob.byteOffset, blob.length)]);
      await client.query('UPDATE rtc_battery_mailboxes SET head = $1, bytes = bytes + $2, last_active = $3 WHERE id = $4', [seq, blob.length, now, mailbox]);
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, `${mailbox}:${seq}`]);
      return { commit: true, value: { ok: true } };
    });
  }

  async read(mailbox: MailboxId, after: number, limit: number): Promise<StoredBlob[]> {
    const { rows } = await this.pool.query('SELECT seq, blob FROM rtc_battery_blobs WHERE mailbox = $1 AND seq > $2 ORDER BY seq LIMIT $3', [mailbox, after, limit]);
    return rows.map((r) => ({ seq: Number(r.seq), blob: new Uint8Array(r.blob as Buffer) }));
  }

  async putSnapshot(mailbox: MailboxId, covers: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<SnapshotOutcome> {
    return this.transaction<SnapshotOutcome>(async (client) => {
      const box = await this.lockBox(client, mailbox, now);
      if (covers > box.head || (box.snapshotCovers !== null && covers <= box.snapshotCovers)) {
        return { commit: false, value: { ok: false, reason: 'conflict', head: box.head } };
      }
      const { rows } = await client.query('SELECT count(*) AS n, coalesce(sum(length(blob)), 0) AS bytes FROM rtc_battery_blobs WHERE mailbox = $1 AND seq <= $2', [mailbox, covers]);
      const bytes = box.bytes - Number(rows[0].bytes) - box.snapshotSize + blob.length;
      if (bytes > quotaBytes) return { commit: false, value: { ok: false, reason: 'quota', bytes: box.bytes } };
      await client.query('DELETE FROM rtc_battery_blobs WHERE mailbox = $1 AND seq <= $2', [mailbox, covers]);
      await client.query('UPDATE rtc_battery_mailboxes SET snapshot_covers = $1, snapshot = $2, bytes = $3, last_active = $4 WHERE id = $5', [
        covers,
        Buffer.from(blob.buffer, blob.byteOffset, blob.length),
        bytes,
        now,
        mailbox,
      ]);
      return { commit: true, value: { ok: true, dropped: Number(rows[0].n) } };
    });
  }

  async readSnapshot(mailbox: MailboxId, offset: number, length: number): Promise<SnapshotSlice | null> {
    // substring on bytea counts bytes, from 1.
    const { rows } = await this.pool.query(
      'SELECT snapshot_covers AS covers, length(snapshot) AS total, substring(snapshot FROM $1 FOR $2) AS bytes FROM rtc_battery_mailboxes WHERE id = $3 AND snapshot IS NOT NULL',
      [offset + 1, length, mailbox],
    );
    const row = rows[0];
    if (!row) return null;
    return { covers: Number(row.covers), total: Number(row.total), bytes: new Uint8Array(row.bytes as Buffer) };
  }

  async touch(mailbox: MailboxId, now: number): Promise<void> {
    await this.pool.query('UPDATE rtc_battery_mailboxes SET last_active = greatest(last_active, $1) WHERE id = $2', [now, mailbox]);
  }

  async expireIdle(cutoff: number): Promise<number> {
    return this.transaction(async (client) => {
      const { rows } = await client.query('DELETE FROM rtc_battery_mailboxes WHERE last_active < $1 RETURNING id', [cutoff]);
      const ids = rows.map((r) => r.id as string);
      if (ids.length > 0) await client.query('DELETE FROM rtc_battery_blobs WHERE mailbox = ANY($1)', [ids]);
      return { commit: true, value: ids.length };
    });
  }

  onAppend(listener: (mailbox: MailboxId, seq: number) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.listener?.release(true);
    await this.pool.end();
  }
}
