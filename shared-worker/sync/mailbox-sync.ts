/**
 * Keeps one replica and the room's mailbox in step, from inside the worker:
 *   - on connect it downloads what arrived after its cursor (a snapshot first when the log
 *     before the cursor was compacted away), opening and validating each blob and applying it
 *     like a peer batch, with progress; snapshot ranges are kept with the replica as they
 *     arrive, so a cut-off snapshot download continues from where it stopped;
 *   - then it subscribes for live pushes;
 *   - after every commit (local, or learned from a peer or the mailbox) it uploads what the
 *     mailbox lacks: the replica's changes above the mailbox's vector, so the mailbox converges
 *     to the union of what every member held; a refused upload (rate limit, quota) is tried
 *     again with backoff, going on from the last blob the server stored.
 * Everything runs on one queue, so downloads, pushes and uploads never interleave.
 * A blob that does not open or validate is reported (`error`) and skipped: it is applied nowhere.
 */
import { BatteryError, isBatteryError } from '../protocol/errors.js';
import { MAX_READ_ITEMS, MAX_SNAPSHOT_CHUNK } from '../protocol/mailbox-protocol.js';
import { isEmptyChangeSet, type ChangeSet } from '../replica/contracts/change-set.js';
import { splitIntoBlobs } from './mailbox-pieces.js';
import { authorBatch, openBatch, OwnSigner } from './authored-batch.js';
import { restrictToTables, splitStamp, vectorOfChanges } from './delta-pieces.js';
import { unsharedParts } from './unshared-tables.js';
import type { DurableReplica } from '../replica/contracts/replica-types.js';
import { entryOf, mergeVectors, type VersionVector } from '../replica/contracts/version-vector.js';
import { capVector, PartsTally, vectorCeiling } from './vector-chain.js';
import { encodeContent, openBlob, sealPlain, type MailboxContent } from './mailbox-blob.js';
import { MailboxConnection, describe, type MailboxSocketFactory, type Welcome } from './mailbox-client.js';
import type { MailboxKeys } from './mailbox-keys.js';
import type { MailboxSnapshotStore } from './mailbox-snapshot-store.js';

/** Where this replica stands in its mailbox: the last position it merged, and what the mailbox holds. */
export interface MailboxCursor {
  seq: number;
  vector: VersionVector;
}

/** The cursor's storage seam (IndexedDB in the worker, a variable in tests). */
export interface MailboxCursorStore {
  load(): Promise<MailboxCursor | undefined>;
  save(cursor: MailboxCursor): Promise<void>;
}

export interface MailboxProgress {
  phase: 'snapshot' | 'log';
  done: number;
  total: number;
}

interface MailboxSyncEvents {
  status(state: 'online' | 'offline'): void;
  progress(progress: MailboxProgress): void;
  error(err: BatteryError): void;
}

export interface MailboxSyncOptions {
  url: string;
  keys: MailboxKeys;
  replica: DurableReplica;
  cursorStore: MailboxCursorStore;
  /** The snapshot pieces downloaded so far, kept with the replica so a cut download resumes. */
  snapshotStore: MailboxSnapshotStore;
  socketFactory: MailboxSocketFactory;
  events: MailboxSyncEvents;
  /** Rows per uploaded blob before the blob-size cap splits further. */
  rowsPerBlob?: number;
  /**
   * Log blobs past the snapshot before this member compacts: it uploads one sealed snapshot of
   * its state at the position it has merged up to, and the server drops the blobs it covers.
   */
  compactAfterBlobs?: number;
  /** Bytes asked for per snapshot range (at most MAX_SNAPSHOT_CHUNK, the default). */
  snapshotChunkBytes?: number;
  /** First wait before a failed upload is tried again (doubles up to a minute). */
  firstRetryMs?: number;
}

const DEFAULT_ROWS_PER_BLOB = 2000;
const DEFAULT_COMPACT_AFTER_BLOBS = 500;
/**
 * A failed upload (rate limit, quota, a server that lost its store for a moment) is tried again
 * after this wait, doubling up to the cap, or after the server's `retryAfterMs` when that is
 * longer: a member that goes quiet after a refusal must still get its changes out.
 */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

export class MailboxSync {
  private connection: MailboxConnection | undefined;
  private welcome: Welcome | undefined;
  private cursor: MailboxCursor = { seq: 0, vector: {} };
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private uploadQueued = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelayMs: number;
  /**
   * The blobs of an upload that was cut off (rate limit, an error) after some were stored: the
   * retry goes on with the rest instead of starting over, so a tight rate limit cannot keep an
   * upload from ever finishing.
   */
  private pending: { plains: Array<Uint8Array<ArrayBuffer>>; upTo: VersionVector; after: VersionVector } | undefined;
  /**
   * Stamps carried by the log blobs read since the last end of an upload. A blob's `upTo` is its
   * uploader's word (any member can seal one), so the cursor moves by what the blobs of a
   * finished upload actually carried, never by the claim: a claim far ahead for a node would
   * otherwise stop this member from ever uploading that node's changes (docs/security.md,
   * "Authorship"). Lost on restart, which only makes the next upload send more.
   */
  private carried: VersionVector = {};
  /** Parts of cut stamps read from blobs (vector-chain.ts). */
  private readonly parts = new PartsTally();
  /** The position the mailbox's snapshot covers (0: none), as far as this member knows. */
  private snapshotCovers = 0;
  private readonly unsubscribe: () => void;
  /** Signs our own registers per stamp, as peer batches do (null: a replica without keys). */
  private readonly signer: OwnSigner | null;

  constructor(private readonly options: MailboxSyncOptions) {
    this.signer = options.replica.identity ? new OwnSigner(options.replica.identity) : null;
    this.retryDelayMs = options.firstRetryMs ?? FIRST_RETRY_MS;
    this.unsubscribe = options.replica.onCommit(() => this.scheduleUpload());
  }

  get online(): boolean {
    return this.connection?.open ?? false;
  }

  /** Connects, downloads, subscribes and uploads; resolves once the first download and upload are done. */
  async start(): Promise<void> {
    const { url, keys, socketFactory, cursorStore, events } = this.options;
    this.cursor = (await cursorStore.load()) ?? { seq: 0, vector: {} };
    const { connection, welcome } = await MailboxConnection.open(url, keys.accessKey, socketFactory);
    if (this.stopped) {
      connection.close();
      return;
    }
    this.connection = connection;
    this.welcome = welcome;
    this.snapshotCovers = welcome.snapshot?.covers ?? 0;
    connection.onPush = (push) => this.enqueue(() => this.onPush(push.seq, push.blob));
    connection.onClose = () => {
      if (this.connection === connection) {
        this.connection = undefined;
        events.status('offline');
      }
    };
    events.status('online');
    if (welcome.head < this.cursor.seq) {
      // The mailbox is younger than our cursor (it expired, or the server lost it): start over,
      // and the upload below refills it with everything we hold.
      this.cursor = { seq: 0, vector: {} };
    }
    await this.run(async () => {
      await this.download(connection, welcome);
      const sub = await connection.request({ t: 'subscribe', after: this.cursor.seq });
      if (sub.t !== 'subscribed') throw new BatteryError('SIGNALING', `mailbox subscribe failed: ${describe(sub)}`);
      await this.upload();
      await this.maybeCompact();
    });
  }

  /** Stops syncing and closes the socket; the cursor stays stored for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    clearTimeout(this.retryTimer);
    this.connection?.close();
    this.connection = undefined;
    await this.queue;
  }

  /** Resolves when everything queued so far (uploads, pushes) has run. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(work: () => Promise<void>): void {
    void this.run(work).catch(() => {});
  }

  private run(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch((err: unknown) => {
      if (!this.stopped) this.options.events.error(isBatteryError(err) ? err : new BatteryError('SIGNALING', `mailbox: ${(err as Error).message}`));
    });
    return next;
  }

  private scheduleUpload(): void {
    if (this.uploadQueued || this.stopped) return;
    this.uploadQueued = true;
    this.enqueue(async () => {
      this.uploadQueued = false;
      try {
        await this.upload();
        await this.maybeCompact();
        this.retryDelayMs = this.options.firstRetryMs ?? FIRST_RETRY_MS;
      } catch (err) {
        this.retryLater(err);
        throw err;
      }
    });
  }

  private retryLater(err: unknown): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    const hinted = isBatteryError(err) && typeof err.detail?.retryAfterMs === 'number' ? err.detail.retryAfterMs : 0;
    const wait = Math.min(MAX_RETRY_MS, Math.max(hinted, this.retryDelayMs));
    this.retryDelayMs = Math.min(MAX_RETRY_MS, this.retryDelayMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.scheduleUpload();
    }, wait);
  }

  private async download(connection: MailboxConnection, welcome: Welcome): Promise<void> {
    const { events } = this.options;
    if (welcome.snapshot && this.cursor.seq < welcome.snapshot.covers) await this.downloadSnapshot(connection, welcome.snapshot.covers, welcome.snapshot.size);
    const start = this.cursor.seq;
    let head = welcome.head;
    if (head > start) events.progress({ phase: 'log', done: 0, total: head - start });
    while (this.cursor.seq < head) {
      const reply = await connection.request({ t: 'read', after: this.cursor.seq, limit: MAX_READ_ITEMS });
      if (reply.t !== 'blobs') throw new BatteryError('SIGNALING', `mailbox read failed: ${describe(reply)}`);
      head = reply.head;
      if (reply.items.length === 0) break;
      for (const item of reply.items) await this.merge(item.seq, item.blob);
      await this.options.cursorStore.save(this.cursor);
      events.progress({ phase: 'log', done: this.cursor.seq - start, total: head - start });
    }
  }

  private async downloadSnapshot(connection: MailboxConnection, covers: number, size: number): Promise<void> {
    const { snapshotStore, events } = this.options;
    const chunkBytes = Math.min(this.options.snapshotChunkBytes ?? MAX_SNAPSHOT_CHUNK, MAX_SNAPSHOT_CHUNK);
    let held = await snapshotStore.load();
    if (held && (held.covers !== covers || held.size !== size)) {
      // The mailbox holds another snapshot now: what we kept is of no use.
      await snapshotStore.clear();
      held = undefined;
    }
    const pieces = held?.pieces ?? [];
    let offset = pieces.reduce((n, p) => n + p.length, 0);
    if (offset > 0) events.progress({ phase: 'snapshot', done: offset, total: size });
    while (offset < size) {
      const reply = await connection.request({ t: 'get-snapshot', offset, length: Math.min(chunkBytes, size - offset) });
      if (reply.t !== 'snapshot-chunk') throw new BatteryError('SIGNALING', `mailbox snapshot read failed: ${describe(reply)}`);
      if (reply.covers !== covers || reply.total !== size || reply.offset !== offset || reply.bytes.length === 0 || offset + reply.bytes.length > size) {
        await snapshotStore.clear();
        throw new BatteryError('SIGNALING', 'the mailbox snapshot changed during the download; it starts over on the next connect');
      }
      await snapshotStore.append({ covers, size }, pieces.length, reply.bytes);
      pieces.push(reply.bytes);
      offset += reply.bytes.length;
      events.progress({ phase: 'snapshot', done: offset, total: size });
    }
    const sealed = new Uint8Array(size);
    let at = 0;
    for (const p of pieces) {
      sealed.set(p, at);
      at += p.length;
    }
    let content: MailboxContent;
    try {
      content = await openBlob(this.options.keys, 'snapshot', sealed, covers);
      if (content.kind !== 'snapshot') throw new BatteryError('BAD_OP', 'mailbox snapshot slot held a log blob');
    } catch (err) {
      // Pieces that do not open together are dropped, so the next connect fetches the snapshot afresh.
      await snapshotStore.clear();
      throw err;
    }
    const carried = await this.applyContent(content);
    this.carried = {};
    this.cursor = { seq: covers, vector: mergeVectors(this.cursor.vector, carried) };
    await this.options.cursorStore.save(this.cursor);
    await snapshotStore.clear();
  }

  private async onPush(seq: number, blob: Uint8Array): Promise<void> {
    if (seq <= this.cursor.seq) return;
    const connection = this.connection;
    if (seq !== this.cursor.seq + 1 && connection && this.welcome) {
      // A gap (a push raced a read): catch up in order instead.
      await this.download(connection, { ...this.welcome, head: seq, snapshot: null });
      return;
    }
    await this.merge(seq, blob);
    await this.options.cursorStore.save(this.cursor);
  }

  /** Opens, validates and applies the blob at `seq`; a blob that fails is reported and skipped. */
  private async merge(seq: number, blob: Uint8Array): Promise<void> {
    let content: MailboxContent;
    let carried: VersionVector;
    try {
      content = await openBlob(this.options.keys, 'changes', blob, seq);
      if (content.kind !== 'changes') throw new BatteryError('BAD_OP', 'log blob held a snapshot');
      carried = await this.applyContent(content);
    } catch (err) {
      this.cursor = { ...this.cursor, seq };
      if (!isBatteryError(err)) throw err;
      this.options.events.error(new BatteryError(err.code, `mailbox blob ${seq} refused: ${err.message}`, err.detail));
      return;
    }
    this.carried = mergeVectors(this.carried, carried);
    if (content.upTo === null) {
      this.cursor = { ...this.cursor, seq };
      return;
    }
    this.cursor = { seq, vector: mergeVectors(this.cursor.vector, this.carried) };
    this.carried = {};
  }

  /**
   * Checks every signed set and the legacy rule (authored-batch.ts), as for a peer batch, before
   * anything of the blob is applied; then applies it with the bodies to keep. Returns the
   * stamps the blob carries (checked ones, not its claims), each author's only as far as its
   * chain continues from what the mailbox is known to hold: any member can append a blob, so
   * one holding an author's later set without the sets before it must not move the cursor past
   * them (vector-chain.ts). The replica's vector likewise rises only along its own chain.
   */
  private async applyContent(content: MailboxContent): Promise<VersionVector> {
    const { replica } = this.options;
    const opened = await openBatch({ signed: content.signed, changes: content.changes }, replica.identity ? replica.nodeId : '', (n) => replica.isKnownAuthor(n));
    if (isEmptyChangeSet(opened.changes)) return {};
    this.parts.note(opened.links, opened.signed.map((b) => b.body));
    const ceiling = vectorCeiling(opened.links, replica.getVector(), this.parts);
    // Signed rows of tables not synced here are parked (unshared-tables.ts); the rest is applied
    // as it is (unsigned rows of such a table are refused, as before).
    const synced = new Set(replica.syncedTables().map((t) => t.toLowerCase()));
    const unshared = unsharedParts(opened, (t) => synced.has(t.toLowerCase()), null);
    const legacyTables = new Set(opened.legacy.tables.map((t) => t.table));
    const applied = new Set(opened.changes.tables.map((t) => t.table).filter((t) => synced.has(t.toLowerCase()) || legacyTables.has(t)));
    await replica.applyChanges(restrictToTables(opened.changes, applied), {
      ...(opened.signed.length > 0 ? { signed: opened.signed } : {}),
      ...(Object.keys(ceiling).length > 0 ? { vectorCeiling: ceiling } : {}),
      ...unshared,
    });
    return capVector(vectorOfChanges(opened.changes), vectorCeiling(opened.links, mergeVectors(this.cursor.vector, this.carried), this.parts));
  }

  /**
   * What goes into blobs for everything above `since`: own registers signed per stamp, other
   * nodes' bodies verbatim, the rest (legacy) unsigned; each stamp cut to fit a blob.
   */
  private async authored(since: VersionVector): Promise<{ signed: Array<{ body: Uint8Array; rows: number }>; legacy: ChangeSet; ownTop: number | undefined }> {
    const { replica } = this.options;
    const rows = this.options.rowsPerBlob ?? DEFAULT_ROWS_PER_BLOB;
    const maxBytes = Math.floor((this.welcome?.limits.maxBlobBytes ?? 1 << 20) / 2);
    const changes = replica.changesSince(since);
    const { sets, legacy } = await authorBatch(changes, replica.signedSince(since), replica.nodeId, this.signer,
      (stamp) => splitStamp(stamp, { pieceRows: rows, maxUnsplitRows: rows, maxPieceBytes: maxBytes }), (n) => replica.isKnownAuthor(n), entryOf(since, replica.nodeId) ?? 0);
    sets.sort((a, b) => a.hlc - b.hlc);
    return { signed: sets.map((s) => ({ body: s.body, rows: Math.max(1, s.rows) })), legacy, ownTop: entryOf(vectorOfChanges(changes), replica.nodeId) };
  }

  /** Uploads a snapshot at the merged position once the log past the last snapshot is long enough. */
  private async maybeCompact(): Promise<void> {
    const connection = this.connection;
    const welcome = this.welcome;
    const covers = this.cursor.seq;
    if (!connection?.open || !welcome || covers - this.snapshotCovers < (this.options.compactAfterBlobs ?? DEFAULT_COMPACT_AFTER_BLOBS)) return;
    const { replica, keys } = this.options;
    // This replica has merged every blob up to `covers` (a refused blob is dropped with the rest),
    // so its whole state stands in for them.
    const vector = replica.getVector();
    const { signed, legacy } = await this.authored({});
    const plain = encodeContent({ kind: 'snapshot', changes: legacy, signed: signed.map((s) => s.body), vector });
    const sealed = await sealPlain(keys, 'snapshot', plain, covers);
    if (sealed.length > welcome.limits.maxSnapshotBytes) return; // the log stays; nothing is lost
    const reply = await connection.request({ t: 'put-snapshot', covers, blob: sealed });
    if (reply.t === 'ack') this.snapshotCovers = covers;
    else if (reply.t === 'error' && reply.code === 'conflict') this.snapshotCovers = Math.max(this.snapshotCovers, covers);
    else throw new BatteryError(reply.t === 'error' && reply.code === 'quota' ? 'QUOTA' : 'SIGNALING', `mailbox compaction failed: ${describe(reply)}`);
  }

  private async upload(): Promise<void> {
    const connection = this.connection;
    if (!connection?.open || !this.welcome) return;
    const { replica, keys } = this.options;
    for (let attempt = 0; attempt < 8; attempt += 1) {
      if (!this.pending) {
        const upTo = mergeVectors(this.cursor.vector, replica.getVector());
        const { signed, legacy, ownTop } = await this.authored(this.cursor.vector);
        // Our own entry moves only to our newest stamp the upload carried: readers' chains for us
        // end there (vector-chain.ts), and the next upload's first set names it as its prev. Own
        // stamps above it had no live registers, so nothing is uploaded twice for it.
        const after = this.signer ? { ...upTo, [replica.nodeId]: Math.max(entryOf(this.cursor.vector, replica.nodeId) ?? 0, ownTop ?? 0) } : upTo;
        if (isEmptyChangeSet(legacy) && signed.length === 0) return;
        const rowsPerBlob = this.options.rowsPerBlob ?? DEFAULT_ROWS_PER_BLOB;
        const maxBytes = Math.floor(this.welcome.limits.maxBlobBytes / 2);
        const contents: Array<{ changes: ChangeSet; signed: Uint8Array[]; rows: number; bytes: number }> = isEmptyChangeSet(legacy) ? []
          : splitIntoBlobs(legacy, rowsPerBlob).map((piece) => ({ changes: piece, signed: [], rows: rowsPerBlob, bytes: 0 }));
        let open: { changes: ChangeSet; signed: Uint8Array[]; rows: number; bytes: number } | null = null;
        for (const set of signed) {
          if (open && (open.rows + set.rows > rowsPerBlob || open.bytes + set.body.length > maxBytes)) open = null;
          if (!open) contents.push((open = { changes: { nodes: [], tables: [] }, signed: [], rows: 0, bytes: 0 }));
          open.signed.push(set.body);
          open.rows += set.rows;
          open.bytes += set.body.length;
        }
        const plains = contents.map((c, i, all) => encodeContent({ kind: 'changes', changes: c.changes, signed: c.signed, upTo: i === all.length - 1 ? upTo : null }));
        this.pending = { plains, upTo, after };
      }
      const pending = this.pending;
      let conflict = false;
      while (pending.plains.length > 0) {
        const seq = this.cursor.seq + 1;
        const sealed = await sealPlain(keys, 'changes', pending.plains[0]!, seq);
        if (sealed.length > this.welcome.limits.maxBlobBytes) {
          this.pending = undefined;
          throw new BatteryError('QUOTA', `a mailbox blob of ${sealed.length} bytes is over the server's cap of ${this.welcome.limits.maxBlobBytes}`);
        }
        const reply = await connection.request({ t: 'append', seq, blob: sealed });
        if (reply.t === 'ack') {
          pending.plains.shift();
          this.cursor = { ...this.cursor, seq };
          continue;
        }
        if (reply.t === 'error' && reply.code === 'conflict') {
          // Someone appended first: merge what they wrote, then go on at the next free position.
          await this.download(connection, { ...this.welcome, head: reply.head ?? seq, snapshot: null });
          conflict = true;
          break;
        }
        if (reply.t === 'error' && reply.code === 'quota') throw new BatteryError('QUOTA', `mailbox: ${reply.message}`);
        const retryAfterMs = reply.t === 'error' ? reply.retryAfterMs : undefined;
        throw new BatteryError('SIGNALING', `mailbox append failed: ${describe(reply)}`, retryAfterMs !== undefined ? { retryAfterMs } : undefined);
      }
      if (!conflict) {
        this.pending = undefined;
        this.cursor = { ...this.cursor, vector: pending.after };
        await this.options.cursorStore.save(this.cursor);
        return;
      }
    }
    throw new BatteryError('SIGNALING', 'mailbox upload kept losing the race for the next position; it retries on the next commit');
  }
}
