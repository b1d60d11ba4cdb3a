/**
 * The compact wire form of a ChangeSet inside delta and live messages:
 *   [nodes, base, tables], each table [name, columns, flat]
 * where `flat` is ONE array of plain values holding the rows one after another:
 *   keyCount, ...key values, put, del, cellCount, ...cells
 *   put / del:  null, or offset, node          (two elements)
 *   a cell:     column, value                  (stamped exactly like its row's put)
 *           or  -(column + 1), value, offset, node
 * Why flat: the decoder materializes every msgpack array as a JS array (~40 bytes plus 8 per
 * element, measured on Node 20), so one array per row, key, stamp and cell cost ~20-30 heap
 * bytes per wire byte; plain values in one array cost at most ~11 (docs/security.md, "Decode
 * cost"), which is what lets msgpack-guard.ts refuse anything costlier before decoding.
 * Stamps are offsets from the smallest hlc in the set (`base`): hlcs are ~2^50 (9 msgpack bytes),
 * offsets within one piece mostly 1-5 bytes. A -0 value (key or cell) is sent as the marker of
 * msgpack-negative-zero.ts, which the framing's codec writes as an extension.
 * fromWire only rebuilds the shape; validateChangeSet (peer-protocol.ts) checks every value.
 */
import type { CellChange, ChangeSet, RowDelta, SqlValue, StampRef } from '../replica/contracts/change-set.js';
import { BatteryError } from '../protocol/errors.js';
import { markNegativeZero } from '../replica/contracts/msgpack-negative-zero.js';

export type WireChangeSet = [nodes: string[], base: number, tables: Array<[table: string, columns: string[], flat: unknown[]]>];

export function toWire(cs: ChangeSet): WireChangeSet {
  let base = Number.POSITIVE_INFINITY;
  for (const t of cs.tables) {
    for (const r of t.rows) {
      if (r.put && r.put[0] < base) base = r.put[0];
      if (r.del && r.del[0] < base) base = r.del[0];
      for (const c of r.cells) if (c[2] < base) base = c[2];
    }
  }
  if (base === Number.POSITIVE_INFINITY) base = 0;
  const tables = cs.tables.map((t): [string, string[], unknown[]] => {
    const flat: unknown[] = [];
    const stamp = (s: StampRef | null) => {
      if (s) flat.push(s[0] - base, s[1]);
      else flat.push(null);
    };
    for (const r of t.rows) {
      flat.push(r.pk.length);
      for (const v of r.pk) flat.push(markNegativeZero(v));
      stamp(r.put);
      stamp(r.del);
      flat.push(r.cells.length);
      const put = r.put;
      for (const c of r.cells) {
        const value = markNegativeZero(c[1]);
        if (put && c[2] === put[0] && c[3] === put[1]) flat.push(c[0], value);
        else flat.push(-(c[0] + 1), value, c[2] - base, c[3]);
      }
    }
    return [t.table, t.columns, flat];
  });
  return [cs.nodes, base, tables];
}

function bad(message: string): never {
  throw new BatteryError('BAD_OP', `malformed peer message: ${message}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Reads one table's flat rows in order; every read checks that the array still has the element. */
class FlatReader {
  private pos = 0;
  constructor(
    private readonly flat: unknown[],
    private readonly base: number,
  ) {}

  more(): boolean {
    return this.pos < this.flat.length;
  }

  next(): unknown {
    if (this.pos >= this.flat.length) bad('a table\'s rows end in the middle of a row');
    return this.flat[this.pos++];
  }

  count(what: string): number {
    const n = this.next();
    if (!isInt(n) || n < 0) bad(`${what} must be a non-negative integer`);
    return n;
  }

  hlc(): number {
    const offset = this.next();
    if (!isInt(offset) || offset < 0) bad('a stamp offset must be a non-negative integer');
    return this.base + offset;
  }

  stamp(): StampRef | null {
    const first = this.flat[this.pos];
    if (first === null) {
      this.pos++;
      return null;
    }
    const hlc = this.hlc();
    return [hlc, this.next() as number];
  }

  row(): RowDelta {
    const keys = this.count('a key count');
    if (keys > this.flat.length - this.pos) bad('a key count runs past the rows');
    const pk = new Array<SqlValue>(keys);
    for (let i = 0; i < keys; i++) pk[i] = this.next() as SqlValue;
    const put = this.stamp();
    const del = this.stamp();
    const n = this.count('a cell count');
    // Every cell takes at least two elements: a hostile count must not size an allocation.
    if (2 * n > this.flat.length - this.pos) bad('a cell count runs past the rows');
    const cells = new Array<CellChange>(n);
    for (let i = 0; i < n; i++) {
      const col = this.next();
      if (!isInt(col)) bad('a cell column must be an integer');
      const value = this.next();
      if (col >= 0) {
        if (put === null) bad('a cell without its own stamp in a row without put');
        cells[i] = [col, value as SqlValue, put[0], put[1]];
      } else {
        cells[i] = [-col - 1, value as SqlValue, this.hlc(), this.next() as number];
      }
    }
    return { pk, put, del, cells };
  }
}

/** Rebuilds the in-memory shape; throws BAD_OP on any structural mismatch. Values are checked later. */
export function fromWire(raw: unknown): ChangeSet {
  if (!Array.isArray(raw) || raw.length !== 3) bad('changes must be [nodes, base, tables]');
  const [nodes, base, tables] = raw as [unknown, unknown, unknown];
  if (!isInt(base) || base < 0) bad('changes base must be a non-negative integer');
  if (!Array.isArray(tables)) bad('changes tables must be an array');
  return {
    nodes: nodes as string[],
    tables: tables.map((t: unknown) => {
      if (!Array.isArray(t) || t.length !== 3 || !Array.isArray(t[2])) bad('a table must be [name, columns, rows]');
      const reader = new FlatReader(t[2] as unknown[], base);
      const rows: RowDelta[] = [];
      while (reader.more()) rows.push(reader.row());
      return { table: t[0] as string, columns: t[1] as string[], rows };
    }),
  };
}
