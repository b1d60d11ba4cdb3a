/**
 * Node ids this replica knows to be key-bound (docs/security.md, "Authorship"): every node whose
 * signed body it verified and kept, and its own key-bound id. Such a node has no unsigned
 * history (a database of an older build writes under a NEW key-bound id once it has keys), so an
 * unsigned change under it is a forgery whatever its stamp; the sync layer refuses those
 * (sync/authored-batch.ts). Kept in _rb_authors by node index, written in the transaction that
 * keeps the bodies, so it travels with the database file (snapshots, export) and log replay
 * rebuilds it. Rows point at _rb_nodes, so it can never hold more ids than the vector
 * (MAX_VECTOR_ENTRIES, admitted per batch by the replica).
 */
import type { SignedBody } from './contracts/change-set.js';
import type { SqlDatabase } from './sql-database.js';
import type { StampStore } from './stamps.js';

export class KnownAuthors {
  private ids: Set<string> | null = null;

  constructor(private readonly db: SqlDatabase, private readonly stamps: StampStore) {}

  /** After a rollback the cache may hold ids that were never stored. */
  forget(): void {
    this.ids = null;
  }

  private loaded(): Set<string> {
    this.ids ??= new Set(this.db.all('SELECT id FROM _rb_authors JOIN _rb_nodes USING (n)').map((r) => String(r[0])));
    return this.ids;
  }

  has(nodeId: string): boolean {
    return this.loaded().has(nodeId);
  }

  /** Records the authors of `kept` (bodies just kept, so their nodes are admitted). Runs inside the keeping transaction. */
  add(kept: readonly SignedBody[]): void {
    const ids = this.loaded();
    for (const b of kept) {
      if (ids.has(b.node)) continue;
      this.db.run('INSERT OR IGNORE INTO _rb_authors(n) VALUES (?)', [this.stamps.nodeIndex(b.node)]);
      ids.add(b.node);
    }
  }

  /** Our own key-bound id (ReplicaOptions.bindNodeId), admitted already. */
  addOwn(nodeId: string): void {
    if (this.has(nodeId)) return;
    this.db.run('INSERT OR IGNORE INTO _rb_authors(n) VALUES (?)', [this.stamps.nodeIndex(nodeId)]);
    this.loaded().add(nodeId);
  }
}
