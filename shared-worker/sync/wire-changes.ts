/**
 * The compact wire form of a ChangeSet inside delta and live messages. The in-memory form (maps
 * per row, absolute 53-bit stamps on every cell) costs ~110 bytes per 4-column row in msgpack;
 * this one ~60:
 *   - rows are arrays [pk, put, del, cells] instead of maps (no key strings per row),
 *   - stamps are sent as offsets from the smallest hlc in the set (`base`): hlcs are
 *     wallMs * 1024 + counter (hlc.ts), ~2^50, i.e. 9 msgpack bytes each; offsets within one
 *     piece are mostly 1–5 bytes,
 *   - a cell stamped exactly like its row's `put` (every cell an insert wrote) is [column, value]
 *     instead of [column, value, hlc, node].
 *   - a -0 value (key or cell) is sent as the marker of msgpack-negative-zero.ts, which the
 *     framing's codec writes as an extension: plain msgpack would turn it into 0 on the way.
 * fromWire only rebuilds the shape; validateChangeSet (peer-protocol.ts) checks every value.
 */
import type { CellChange, ChangeSet, RowDelta, StampRef } from '../replica/contracts/change-set.js';
import { BatteryError } from '../protocol/errors.js';
import { markNegativeZero } from '../replica/contracts/msgpack-negative-zero.js';

type WireStamp = [offset: number, node: number] | null;
type WireCell = [column: number, value: unknown] | [column: number, value: unknown, offset: number, node: number];
type WireRow = [pk: unknown[], put: WireStamp, del: WireStamp, cells: WireCell[]];
export type WireChangeSet = [nodes: string[], base: number, tables: Array<[table: string, columns: string[], rows: WireRow[]]>];

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
  const stamp = (s: StampRef | null): WireStamp => (s ? [s[0] - base, s[1]] : null);
  return [
    cs.nodes,
    base,
    cs.tables.map((t) => [
      t.table,
      t.columns,
      t.rows.map((r): WireRow => {
        const put = r.put;
        const cells = r.cells.map((c): WireCell => {
          const value = markNegativeZero(c[1]);
          return put && c[2] === put[0] && c[3] === put[1] ? [c[0], value] : [c[0], value, c[2] - base, c[3]];
        });
        return [r.pk.map(markNegativeZero), stamp(r.put), stamp(r.del), cells];
      }),
    ]),
  ];
}

function bad(message: string): never {
  throw new BatteryError('BAD_OP', `malformed peer message: ${message}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Rebuilds the in-memory shape; throws BAD_OP on any structural mismatch. Values are checked later. */
export function fromWire(raw: unknown): ChangeSet {
  if (!Array.isArray(raw) || raw.length !== 3) bad('changes must be [nodes, base, tables]');
  const [nodes, base, tables] = raw as [unknown, unknown, unknown];
  if (!isInt(base) || base < 0) bad('changes base must be a non-negative integer');
  if (!Array.isArray(tables)) bad('changes tables must be an array');
  const abs = (offset: unknown): number => {
    if (!isInt(offset) || offset < 0) bad('a stamp offset must be a non-negative integer');
    return base + offset;
  };
  const stamp = (s: unknown): StampRef | null => {
    if (s === null) return null;
    if (!Array.isArray(s) || s.length !== 2) bad('a stamp must be null or [offset, node]');
    return [abs(s[0]), s[1] as number];
  };
  return {
    nodes: nodes as string[],
    tables: tables.map((t: unknown) => {
      if (!Array.isArray(t) || t.length !== 3 || !Array.isArray(t[2])) bad('a table must be [name, columns, rows]');
      const rows = (t[2] as unknown[]).map((r): RowDelta => {
        if (!Array.isArray(r) || r.length !== 4 || !Array.isArray(r[3])) bad('a row must be [pk, put, del, cells]');
        const put = stamp(r[1]);
        const cells = (r[3] as unknown[]).map((c): CellChange => {
          if (!Array.isArray(c)) bad('a cell must be an array');
          if (c.length === 2) {
            if (put === null) bad('a cell without its own stamp in a row without put');
            return [c[0], c[1], put[0], put[1]] as CellChange;
          }
          if (c.length !== 4) bad('a cell must be [column, value] or [column, value, offset, node]');
          return [c[0], c[1], abs(c[2]), c[3]] as CellChange;
        });
        return { pk: r[0] as RowDelta['pk'], put, del: stamp(r[2]), cells };
      });
      return { table: t[0] as string, columns: t[1] as string[], rows };
    }),
  };
}
