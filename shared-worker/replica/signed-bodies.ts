/**
 * Signed bodies of other replicas (docs/security.md, "Authorship"), kept in _rb_signed by stamp
 * id, written in the transaction that merged (or parked) their registers. A body is useful while
 * at least one register, parked ones included (parked-registers.ts), still carries its stamp:
 * then a newcomer needs it to get that register with its origin's proof. Bodies whose stamp no
 * register carries any more are dropped lazily (sweep), so a row updated a million times does
 * not keep a million bodies.
 */
import type { SignedBody } from './contracts/change-set.js';
import type { SqlDatabase } from './sql-database.js';
import type { StampStore } from './stamps.js';
import type { SyncedTable } from './synced-table.js';
import { quoteIdent } from './sql-text.js';
import type { VersionVector } from './contracts/version-vector.js';

/** A sweep runs once the stored bodies have doubled since the last one (and at least this many). */
const SWEEP_FLOOR = 1_024;

export class SignedBodies {
  private count: number | null = null;
  private atSweep = 0;

  constructor(private readonly db: SqlDatabase, private readonly stamps: StampStore) {}

  /** After a rollback the count may be off. */
  forget(): void {
    this.count = null;
  }

  private stored(): number {
    this.count ??= Number(this.db.get('SELECT count(*) FROM _rb_signed')![0]);
    return this.count;
  }

  /**
   * Keeps the bodies whose stamp exists here (a merged register carries it); returns those that
   * were new. A stamp too big for one message arrives as several bodies (parts): each is kept,
   * a body already held (same bytes) is not. Runs inside the merge's transaction.
   */
  keep(bodies: readonly SignedBody[]): SignedBody[] {
    const fresh: SignedBody[] = [];
    for (const b of bodies) {
      if (!this.stamps.knows(b.node)) continue;
      const row = this.db.get('SELECT v FROM _rb_stamps WHERE n = ? AND hlc = ?', [this.stamps.nodeIndex(b.node), b.hlc]);
      if (!row) continue;
      if (this.db.get('SELECT 1 FROM _rb_signed WHERE v = ? AND body = ?', [Number(row[0]), b.body])) continue;
      this.db.run('INSERT INTO _rb_signed(v, body) VALUES (?, ?)', [Number(row[0]), b.body]);
      this.count = this.stored() + 1;
      fresh.push(b);
    }
    return fresh;
  }

  /** Nothing stored (a replica that only ever wrote itself): a sweep would read every register for nothing. */
  isEmpty(): boolean {
    return this.stored() === 0;
  }

  /** Bodies with stamp hlc above since[node], in stamp-id order (arrival here). */
  since(since: VersionVector): SignedBody[] {
    const minV = this.stamps.minVAbove(since);
    if (minV === null) return [];
    const out: SignedBody[] = [];
    for (const [v, body] of this.db.all('SELECT v, body FROM _rb_signed WHERE v >= ? ORDER BY v, rowid', [minV])) {
      const s = this.stamps.stamp(Number(v));
      const floor = Object.hasOwn(since, s.node) ? since[s.node]! : -1;
      if (s.hlc > floor) out.push({ node: s.node, hlc: s.hlc, body: body as Uint8Array });
    }
    return out;
  }

  /** Should a sweep run now (the bodies doubled since the last one)? */
  due(): boolean {
    return this.stored() > Math.max(SWEEP_FLOOR, 2 * this.atSweep);
  }

  /**
   * Drops bodies whose stamp no register carries. The caller folds pending update logs first and
   * runs this in a transaction. Registers live in clock rows, tombstones and extra cells, and
   * parked registers (`addParked`) of tables not synced here.
   */
  sweep(tables: Iterable<SyncedTable>, addParked: (used: Set<number>) => void): void {
    const used = new Set<number>();
    addParked(used);
    for (const t of tables) {
      const regs = ['put', 'del', ...t.shape.cols.map((_, i) => `s${i}`)];
      for (const name of [t.names.clock, t.names.tomb]) {
        for (const row of this.db.all(`SELECT ${regs.join(', ')} FROM ${quoteIdent(name)}`)) for (const v of row) if (v !== null) used.add(Number(v));
      }
      for (const [v] of this.db.all(`SELECT v FROM ${quoteIdent(t.names.extra)}`)) used.add(Number(v));
    }
    let kept = 0;
    for (const [v] of this.db.all('SELECT v FROM _rb_signed')) {
      if (used.has(Number(v))) kept++;
      else this.db.run('DELETE FROM _rb_signed WHERE v = ?', [Number(v)]);
    }
    this.count = kept;
    this.atSweep = kept;
  }
}
