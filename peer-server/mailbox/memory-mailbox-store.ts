import type { StoredBlob } from '../../shared-worker/protocol/mailbox-protocol.js';
import { AppendListeners } from './append-listeners.js';
import type { AppendOutcome, MailboxId, MailboxState, MailboxStore, SnapshotOutcome, SnapshotSlice } from './mailbox-store.js';

interface Box {
  head: number;
  bytes: number;
  blobs: StoredBlob[];
  snapshot: { covers: number; blob: Uint8Array } | null;
  lastActive: number;
}

/** The in-memory twin: the reference the SQLite and Postgres stores are tested against. */
export class MemoryMailboxStore implements MailboxStore {
  private readonly boxes = new Map<MailboxId, Box>();
  private readonly listeners = new AppendListeners();

  async state(mailbox: MailboxId): Promise<MailboxState> {
    const box = this.boxes.get(mailbox);
    if (!box) return { head: 0, bytes: 0, snapshot: null };
    return { head: box.head, bytes: box.bytes, snapshot: box.snapshot ? { covers: box.snapshot.covers, size: box.snapshot.blob.length } : null };
  }

  private box(mailbox: MailboxId, now: number): Box {
    let box = this.boxes.get(mailbox);
    if (!box) {
      box = { head: 0, bytes: 0, blobs: [], snapshot: null, lastActive: now };
      this.boxes.set(mailbox, box);
    }
    return box;
  }

  async append(mailbox: MailboxId, seq: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<AppendOutcome> {
    const existing = this.boxes.get(mailbox);
    const head = existing?.head ?? 0;
    if (seq !== head + 1) return { ok: false, reason: 'conflict', head };
    const bytes = existing?.bytes ?? 0;
    if (bytes + blob.length > quotaBytes) return { ok: false, reason: 'quota', bytes };
    const box = this.box(mailbox, now);
    box.blobs.push({ seq, blob: blob.slice() });
    box.head = seq;
    box.bytes += blob.length;
    box.lastActive = now;
    this.listeners.emit(mailbox, seq);
    return { ok: true };
  }

  async read(mailbox: MailboxId, after: number, limit: number): Promise<StoredBlob[]> {
    const box = this.boxes.get(mailbox);
    if (!box) return [];
    return box.blobs.filter((b) => b.seq > after).slice(0, limit).map((b) => ({ seq: b.seq, blob: b.blob.slice() }));
  }

  async putSnapshot(mailbox: MailboxId, covers: number, blob: Uint8Array, quotaBytes: number, now: number): Promise<SnapshotOutcome> {
    const existing = this.boxes.get(mailbox);
    const head = existing?.head ?? 0;
    if (covers > head || (existing?.snapshot && covers <= existing.snapshot.covers)) return { ok: false, reason: 'conflict', head };
    const box = existing!;
    const dropped = box.blobs.filter((b) => b.seq <= covers);
    const freed = dropped.reduce((n, b) => n + b.blob.length, 0) + (box.snapshot?.blob.length ?? 0);
    const bytes = box.bytes - freed + blob.length;
    if (bytes > quotaBytes) return { ok: false, reason: 'quota', bytes: box.bytes };
    box.blobs = box.blobs.filter((b) => b.seq > covers);
    box.snapshot = { covers, blob: blob.slice() };
    box.bytes = bytes;
    box.lastActive = now;
    return { ok: true, dropped: dropped.length };
  }

  async readSnapshot(mailbox: MailboxId, offset: number, length: number): Promise<SnapshotSlice | null> {
    const snapshot = this.boxes.get(mailbox)?.snapshot;
    if (!snapshot) return null;
    return { covers: snapshot.covers, total: snapshot.blob.length, bytes: snapshot.blob.slice(offset, offset + length) };
  }

  async touch(mailbox: MailboxId, now: number): Promise<void> {
    const box = this.boxes.get(mailbox);
    if (box) box.lastActive = now;
  }

  async expireIdle(cutoff: number): Promise<number> {
    let n = 0;
    for (const [id, box] of this.boxes) {
      if (box.lastActive < cutoff) {
        this.boxes.delete(id);
        n += 1;
      }
    }
    return n;
  }

  onAppend(listener: (mailbox: MailboxId, seq: number) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
