/** Shared helpers for the replica suites. */
import initSqlJs from 'sql.js';
import { createReplica, type CreateReplicaOptions } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';

export const ITEMS_DDL = 'CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER, note TEXT)';

/** A replica with a fake wall clock the test moves by hand. */
async function replicaWithClock(nodeId: string, start = 1_700_000_000_000, extra: CreateReplicaOptions = {}): Promise<{ r: Replica; clock: { t: number } }> {
  const clock = { t: start };
  const r = await createReplica({ nodeId, now: () => clock.t, ...extra });
  return { r, clock };
}

export async function syncedReplica(nodeId: string, ddl = ITEMS_DDL, table = 'items', start?: number) {
  const made = await replicaWithClock(nodeId, start);
  made.r.exec(ddl);
  made.r.enableSync(table);
  return made;
}

function plain(v: unknown): unknown {
  return v instanceof Uint8Array ? { blob: Array.from(v) } : v;
}

/** Visible content of tables as comparable JSON (rows ordered by every column, so by key). */
export function dump(r: Replica, tables: string[] = r.syncedTables()): string {
  const out: Record<string, unknown[]> = {};
  for (const t of [...tables].sort()) {
    const res = r.execLocal(`SELECT * FROM "${t}" ORDER BY 1, 2`);
    out[t] = res.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
  }
  return JSON.stringify(out);
}

/** Moves every change from `from` that `to` lacks (by `to`'s vector). */
export function pull(to: Replica, from: Replica): number {
  return to.applyChanges(from.changesSince(to.getVector())).applied;
}

export function exchangeAll(replicas: Replica[]): void {
  for (let round = 0; round < 2; round++) {
    for (const a of replicas) for (const b of replicas) if (a !== b) pull(a, b);
  }
}

/** All registers, independent of row order and rowids: equal iff two replicas hold the same state. */
export function registers(r: Replica): string {
  const cs = r.changesSince({});
  const rows: string[] = [];
  for (const t of cs.tables) {
    for (const row of t.rows) {
      const stamp = (s: [number, number] | null) => (s ? [s[0], cs.nodes[s[1]]] : null);
      const cells = row.cells.map(([c, v, h, n]) => [t.columns[c], plain(v), h, cs.nodes[n]]).sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      rows.push(JSON.stringify([t.table, row.pk.map(plain), stamp(row.put), stamp(row.del), cells]));
    }
  }
  return rows.sort().join('\n');
}

/** Rows of `table`, clock rows matching a row, and all clock rows (table number `tid`), read from an export. */
export async function clockRowCounts(r: Replica, table: string, tid: number): Promise<{ rows: number; matched: number; clocks: number }> {
  const db = new (await initSqlJs()).Database(r.export());
  try {
    const [rows, matched, clocks] = db.exec(`SELECT (SELECT count(*) FROM "${table}"), (SELECT count(*) FROM _rb_c${tid} c JOIN "${table}" t ON t.rowid = c.rid), (SELECT count(*) FROM _rb_c${tid})`)[0]!.values[0]!;
    return { rows: Number(rows), matched: Number(matched), clocks: Number(clocks) };
  } finally {
    db.close();
  }
}
