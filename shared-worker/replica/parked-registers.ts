/**
 * Parked registers (docs/schema-evolution.md, "Tables one peer does not sync"): registers of other
 * authors' signed sets that this replica holds but cannot merge into a table (yet), because the
 * table is not synced here (a peer on a newer app version created it), or because the row does
 * not fit the table here (its key, or a definition the sender's hello excluded). They make the
 * vector entry that rises past their set true: the set's body is kept while a parked register
 * carries its stamp (signed-bodies.ts sweep), so it is forwarded to peers that sync the table,
 * and enableSync, or an ADD/DROP COLUMN of the table, merges the table's parked rows that fit
 * (last writer wins, as any merge).
 *
 * _rb_parked(tbl, pk, kind, col, val, v): per lower-cased table name, encoded key, register kind
 * (put, del, or a cell of lower-cased column `col`) the newest value and stamp id, the same last-writer-wins
 * order as every register. So what is parked is bounded like a synced table: one register per
 * row and column, however often a row is written; superseded sets are swept.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { CellChange, ChangeSet, RowDelta, SqlValue, TableDelta } from './contracts/change-set.js';
import { markNegativeZero, negativeZeroCodec } from './contracts/msgpack-negative-zero.js';
import type { SqlDatabase } from './sql-database.js';
import { compareStamps, type StampStore } from './stamps.js';

const encoder = new Encoder({ extensionCodec: negativeZeroCodec });
const decoder = new Decoder({ extensionCodec: negativeZeroCodec });

const PUT = 0;
const DEL = 1;
const CELL = 2;

/** A key (or a value) as stored: msgpack, so every SqlValue (-0, bytes, big doubles) comes back as it was. */
const encode = (values: SqlValue[]): Uint8Array => encoder.encode(values.map(markNegativeZero));
const decode = (bytes: Uint8Array): SqlValue[] => decoder.decode(bytes) as SqlValue[];

export class ParkedRegisters {
  constructor(private readonly db: SqlDatabase, private readonly stamps: StampStore) {}

  /**
   * Takes each register of `cs` newer than the parked one of its table, key, kind and column;
   * returns the registers taken (null: none). Runs inside the caller's transaction; `intern`
   * gives the stamp id of (hlc, node).
   */
  park(cs: ChangeSet, intern: (hlc: number, node: string) => number): ChangeSet | null {
    const tables: TableDelta[] = [];
    for (const t of cs.tables) {
      const tbl = t.table.toLowerCase();
      const rows: RowDelta[] = [];
      for (const r of t.rows) {
        const pk = encode(r.pk);
        const take = (kind: number, col: string, value: SqlValue, hlc: number, node: number): boolean => {
          const author = cs.nodes[node]!;
          const held = this.db.get('SELECT v FROM _rb_parked WHERE tbl = ? AND pk = ? AND kind = ? AND col = ?', [tbl, pk, kind, col]);
          if (held && compareStamps({ hlc, node: author }, this.stamps.stamp(Number(held[0]))) <= 0) return false;
          this.db.run('INSERT OR REPLACE INTO _rb_parked(tbl, pk, kind, col, val, v) VALUES (?, ?, ?, ?, ?, ?)', [tbl, pk, kind, col, encode([value]), intern(hlc, author)]);
          return true;
        };
        const out: RowDelta = { pk: r.pk, put: null, del: null, cells: [] };
        if (r.put && take(PUT, '', null, r.put[0], r.put[1])) out.put = r.put;
        if (r.del && take(DEL, '', null, r.del[0], r.del[1])) out.del = r.del;
        // Column names are matched without case (as SQLite does): one register per column.
        for (const c of r.cells) if (take(CELL, t.columns[c[0]]!.toLowerCase(), c[1], c[2], c[3])) out.cells.push(c);
        if (out.put || out.del || out.cells.length > 0) rows.push(out);
      }
      if (rows.length > 0) tables.push({ table: t.table, columns: t.columns, rows });
    }
    return tables.length > 0 ? { nodes: cs.nodes, tables } : null;
  }

  /** Does table `name` have parked registers? One probe of the primary key's table prefix. */
  has(name: string): boolean {
    return this.db.get('SELECT EXISTS (SELECT 1 FROM _rb_parked WHERE tbl = ?)', [name.toLowerCase()])![0] === 1;
  }

  /** Stamp ids that parked registers carry (their bodies stay kept). */
  addStampsTo(used: Set<number>): void {
    for (const [v] of this.db.all('SELECT DISTINCT v FROM _rb_parked')) used.add(Number(v));
  }

  /** The parked registers of table `name` as one change set (one row per key), with their stamps. */
  rowsOf(name: string): ChangeSet {
    const nodes: string[] = [];
    const nodeIdx = new Map<string, number>();
    const columns: string[] = [];
    const colIdx = new Map<string, number>();
    const rows: RowDelta[] = [];
    let lastPk = '';
    let row: RowDelta | null = null;
    for (const [pk, kind, col, val, v] of this.db.all('SELECT pk, kind, col, val, v FROM _rb_parked WHERE tbl = ? ORDER BY pk', [name.toLowerCase()])) {
      // Rows come ordered by key bytes; their decimal list tells one key from the next.
      const key = String(pk);
      if (row === null || key !== lastPk) {
        row = { pk: decode(pk as Uint8Array), put: null, del: null, cells: [] };
        rows.push(row);
        lastPk = key;
      }
      const s = this.stamps.stamp(Number(v));
      let ni = nodeIdx.get(s.node);
      if (ni === undefined) nodeIdx.set(s.node, (ni = nodes.push(s.node) - 1));
      if (kind === PUT) row.put = [s.hlc, ni];
      else if (kind === DEL) row.del = [s.hlc, ni];
      else {
        let ci = colIdx.get(String(col));
        if (ci === undefined) colIdx.set(String(col), (ci = columns.push(String(col)) - 1));
        const cell: CellChange = [ci, decode(val as Uint8Array)[0]!, s.hlc, ni];
        row.cells.push(cell);
      }
    }
    return { nodes, tables: rows.length > 0 ? [{ table: name, columns, rows }] : [] };
  }

  /** Forgets the parked registers of these keys of table `name` (merged into it). */
  remove(name: string, keys: readonly SqlValue[][]): void {
    const tbl = name.toLowerCase();
    for (const pk of keys) this.db.run('DELETE FROM _rb_parked WHERE tbl = ? AND pk = ?', [tbl, encode(pk)]);
  }
}
