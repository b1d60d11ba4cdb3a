/**
 * Stamp ids. Registers store a small local integer v; _rb_stamps maps it to (hlc, node). A new
 * stamp always gets the next v, so v orders stamps by arrival here (not by time): "everything a
 * peer lacks" is always within v >= the smallest new-to-it v, which the ver indexes turn into a
 * range scan.
 */
import type { SqlDatabase } from './sql-database.js';

export interface Stamp {
  hlc: number;
  node: string;
}

/** Register order: (hlc, node id) with plain string comparison (ids are ASCII). */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** Caches are dropped after a rollback and when they grow past this many entries. */
const STAMP_CACHE_LIMIT = 500_000;

export class StampStore {
  private readonly byV = new Map<number, Stamp>();
  private readonly nodeByIdx = new Map<number, string>();
  private readonly idxByNode = new Map<string, number>();

  constructor(private readonly db: SqlDatabase) {}

  /** After a rollback the caches may describe rows that no longer exist. */
  forget(): void {
    this.byV.clear();
    this.nodeByIdx.clear();
    this.idxByNode.clear();
  }

  nodeIndex(id: string): number {
    let n = this.idxByNode.get(id);
    if (n === undefined) {
      const row = this.db.get('SELECT n FROM _rb_nodes WHERE id = ?', [id]);
      if (row) n = Number(row[0]);
      else {
        this.db.run('INSERT INTO _rb_nodes(id) VALUES (?)', [id]);
        n = Number(this.db.get('SELECT n FROM _rb_nodes WHERE id = ?', [id])![0]);
      }
      this.idxByNode.set(id, n);
      this.nodeByIdx.set(n, id);
    }
    return n;
  }

  /** Is `id` one of the node ids this replica has admitted? */
  knows(id: string): boolean {
    return this.idxByNode.has(id) || Boolean(this.db.get('SELECT 1 FROM _rb_nodes WHERE id = ?', [id]));
  }

  /** How many node ids this replica has admitted (bounded: remote-vector-check.ts). */
  nodeCount(): number {
    return Number(this.db.get('SELECT count(*) FROM _rb_nodes')![0]);
  }

  nodeId(n: number): string {
    let id = this.nodeByIdx.get(n);
    if (id === undefined) {
      id = String(this.db.get('SELECT id FROM _rb_nodes WHERE n = ?', [n])![0]);
      this.nodeByIdx.set(n, id);
      this.idxByNode.set(id, n);
    }
    return id;
  }

  stamp(v: number): Stamp {
    let s = this.byV.get(v);
    if (!s) {
      const row = this.db.get('SELECT hlc, n FROM _rb_stamps WHERE v = ?', [v]);
      if (!row) throw new Error(`internal: stamp ${v} missing`);
      s = { hlc: Number(row[0]), node: this.nodeId(Number(row[1])) };
      if (this.byV.size >= STAMP_CACHE_LIMIT) this.byV.clear();
      this.byV.set(v, s);
    }
    return s;
  }

  /** The stamp id of (hlc, node), created if new. */
  intern(hlc: number, node: string): number {
    const n = this.nodeIndex(node);
    const row = this.db.get('SELECT v FROM _rb_stamps WHERE n = ? AND hlc = ?', [n, hlc]);
    if (row) return Number(row[0]);
    return this.create(hlc, node, n);
  }

  /** A brand-new stamp id (the caller knows the stamp is new, e.g. a fresh local tick). */
  create(hlc: number, node: string, n = this.nodeIndex(node)): number {
    // v is the rowid: SQLite gives a new row max(rowid) + 1, the next v, in the same statement.
    const v = Number(this.db.get('INSERT INTO _rb_stamps(hlc, n) VALUES (?, ?) RETURNING v', [hlc, n])![0]);
    this.byV.set(v, { hlc, node });
    return v;
  }

  /** Removes a stamp created for an exec that changed nothing. */
  drop(v: number): void {
    this.db.run('DELETE FROM _rb_stamps WHERE v = ?', [v]);
    this.byV.delete(v);
  }

  /** Raises the version-vector entry of `node` to at least hlc. */
  raiseVector(node: string, hlc: number): void {
    this.db.run('UPDATE _rb_nodes SET maxhlc = ?2 WHERE n = ?1 AND maxhlc < ?2', [this.nodeIndex(node), hlc]);
  }

  vector(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, hlc] of this.db.all('SELECT id, maxhlc FROM _rb_nodes WHERE maxhlc > 0')) out[String(id)] = Number(hlc);
    return out;
  }

  /** Highest hlc stored anywhere (the clock starts above it on open). */
  maxHlc(): number {
    const row = this.db.get('SELECT max(coalesce((SELECT max(hlc) FROM _rb_stamps), 0), coalesce((SELECT max(maxhlc) FROM _rb_nodes), 0))');
    return Number(row?.[0] ?? 0);
  }

  /** Smallest stamp id holding something newer than `since` for its node, or null if none. */
  minVAbove(since: Record<string, number>): number | null {
    let min: number | null = null;
    for (const [n, id] of this.db.all('SELECT n, id FROM _rb_nodes')) {
      const floor = Object.prototype.hasOwnProperty.call(since, String(id)) ? since[String(id)]! : -1;
      const row = this.db.get('SELECT min(v) FROM _rb_stamps WHERE n = ? AND hlc > ?', [Number(n), floor]);
      const v = row?.[0];
      if (v !== null && v !== undefined && (min === null || Number(v) < min)) min = Number(v);
    }
    return min;
  }
}
