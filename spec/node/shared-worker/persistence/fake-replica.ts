/**
 * A small stand-in Replica for testing the durable layer on its own: one synced table `kv`
 * (key -> value, LWW by (hlc, node), delete register), one non-synced table `notes` (rowid -> text),
 * and a schema counter standing for DDL. It speaks a tiny command language instead of SQL:
 *   put <k> <v> | del <k> | note <rowid> <text> | unnote <rowid> | ddl | alter | boom | get <k>
 * (`alter` stands for a schema change logged as itself: an exec of nothing but `alter`s is a
 * SchemaChange that replaySchemaChange runs again).
 * joined by ';' (one exec = one atomic transaction = one Commit, as in the real replica).
 */
import { decode, encode } from '@msgpack/msgpack';
import type { ChangeSet, RowDelta } from '../../../../shared-worker/replica/contracts/change-set.js';
import { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import type {
  ApplyResult, Commit, ExecResult, ExportCursor, Replica, ReplicaOptions, RowWrite, SchemaChange,
} from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { VersionVector } from '../../../../shared-worker/replica/contracts/version-vector.js';

interface Cell { value: string | null; hlc: number; node: string; deleted: boolean }
interface State { nodeId: string; clock: number; version: number; schema: number; kv: Record<string, Cell>; notes: Record<string, string>; synced: string[] }

let nodeCounter = 0;
/** Counts export() calls, so tests can see when snapshots were taken. */
export const fakeStats = { exports: 0 };

export async function createFakeReplica(options: ReplicaOptions & { data?: Uint8Array } = {}): Promise<Replica> {
  const state: State = options.data
    ? decode(options.data) as State
    : { nodeId: options.nodeId ?? `fake${++nodeCounter}`, clock: 0, version: 0, schema: 0, kv: {}, notes: {}, synced: [] };
  return new FakeReplica(state);
}

class FakeReplica implements Replica {
  private listeners = new Set<(c: Commit) => void>();
  constructor(private s: State) {}

  get nodeId(): string { return this.s.nodeId; }

  exec(sql: string): ExecResult { return this.run(sql, true); }
  execLocal(sql: string): ExecResult { return this.run(sql, false); }

  enableSync(table: string): void {
    if (this.s.synced.includes(table)) return;
    this.s.synced.push(table);
    this.s.version++;
    this.emit({ origin: 'local', tables: [table], changes: null, rows: [], needsSnapshot: true, version: this.s.version });
  }

  syncedTables(): string[] { return [...this.s.synced]; }

  applyChanges(cs: ChangeSet, options?: { trusted?: boolean }): ApplyResult {
    const next = structuredClone(this.s);
    const taken: RowDelta[] = [];
    for (const t of cs.tables) {
      if (t.table !== 'kv') throw new BatteryError('SCHEMA', `unknown table ${t.table}`);
      for (const row of t.rows) {
        const key = String(row.pk[0]);
        const stamp = row.put ?? row.del!;
        const node = cs.nodes[stamp[1]]!;
        const cur = next.kv[key];
        if (cur && (cur.hlc > stamp[0] || (cur.hlc === stamp[0] && cur.node >= node))) continue;
        if (!options?.trusted && stamp[0] > Date.now() + 60_000) throw new BatteryError('SKEW', 'too far ahead');
        next.kv[key] = { value: row.put ? (row.cells[0]?.[1] as string) : null, hlc: stamp[0], node, deleted: !row.put };
        next.clock = Math.max(next.clock, stamp[0]);
        taken.push(row);
      }
    }
    if (taken.length === 0) return { applied: 0, changes: null, tables: [] };
    next.version++;
    this.s = next;
    const changes: ChangeSet = { nodes: cs.nodes, tables: [{ table: 'kv', columns: ['v'], rows: taken }] };
    this.emit({ origin: 'remote', tables: ['kv'], changes, rows: [], needsSnapshot: false, version: next.version });
    return { applied: taken.length, changes, tables: ['kv'] };
  }

  signedSince(): [] {
    return [];
  }

  /** The fake keeps no signed bodies: it knows no author. */
  isKnownAuthor(): boolean {
    return false;
  }

  changesSince(since: VersionVector): ChangeSet {
    const nodes: string[] = [];
    const rows: RowDelta[] = [];
    for (const [k, c] of Object.entries(this.s.kv)) {
      if (c.hlc <= (since[c.node] ?? 0)) continue;
      if (!nodes.includes(c.node)) nodes.push(c.node);
      rows.push(rowDelta(k, c, nodes.indexOf(c.node)));
    }
    return { nodes, tables: rows.length ? [{ table: 'kv', columns: ['v'], rows }] : [] };
  }

  getVector(): VersionVector {
    const v: VersionVector = {};
    for (const c of Object.values(this.s.kv)) v[c.node] = Math.max(v[c.node] ?? 0, c.hlc);
    return v;
  }

  getVersion(): number { return this.s.version; }
  migrate(steps: readonly string[]): { from: number; to: number } {
    return { from: 0, to: steps.length };
  }
  getSchemaVersion(): number { return 0; }
  fingerprints(): Record<string, string> { return { kv: `schema${this.s.schema}` }; }

  replaySchemaChange(change: SchemaChange): void {
    const statements = change.sql.split(';').map((x) => x.trim()).filter(Boolean);
    if (statements.length === 0 || statements.some((x) => x !== 'alter')) throw new BatteryError('SCHEMA', `not a schema change: ${change.sql}`);
    this.run(change.sql, true);
  }

  replayRows(rows: RowWrite[]): void {
    for (const r of rows) {
      if (r.op === 'upsert') this.s.notes[r.rowid] = r.values[0] as string;
      else delete this.s.notes[r.rowid];
    }
    this.s.version++;
  }

  onCommit(listener: (c: Commit) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  export(): Uint8Array {
    fakeStats.exports++;
    return encode(this.s);
  }

  /** Completes on the third step with the state as of that step, as the real cursor does. */
  exportInSlices(): ExportCursor {
    let steps = 0;
    let image: Uint8Array | null = null;
    return {
      step: () => {
        if (!image && ++steps >= 3) image = this.export();
        return image !== null;
      },
      result: () => {
        if (!image) throw new Error('not complete');
        return image;
      },
      abort: () => {},
    };
  }

  close(): void { this.listeners.clear(); }

  /** Everything observable, for comparing a replica before and after a reopen. */
  dump(): unknown { return { kv: this.s.kv, notes: this.s.notes, schema: this.s.schema, synced: this.s.synced }; }

  private run(sql: string, capture: boolean): ExecResult {
    const next = structuredClone(this.s);
    const hlc = next.clock + 1;
    const rows: RowDelta[] = [];
    const rowWrites: RowWrite[] = [];
    const result: ExecResult = { columns: [], rows: [] };
    let ddl = false;
    let alters = 0;
    for (const stmt of sql.split(';').map((x) => x.trim()).filter(Boolean)) {
      const [cmd, a = '', ...rest] = stmt.split(' ');
      const b = rest.join(' ');
      if ((cmd === 'put' || cmd === 'del') && !capture) throw new BatteryError('BAD_OP', 'execLocal cannot write kv');
      if (cmd === 'put' || cmd === 'del') {
        const cell: Cell = { value: cmd === 'put' ? b : null, hlc, node: next.nodeId, deleted: cmd === 'del' };
        next.kv[a] = cell;
        rows.push(rowDelta(a, cell, 0));
      } else if (cmd === 'note') {
        next.notes[a] = b;
        rowWrites.push({ op: 'upsert', table: 'notes', rowid: Number(a), columns: ['text'], values: [b] });
      } else if (cmd === 'unnote') {
        delete next.notes[a];
        rowWrites.push({ op: 'delete', table: 'notes', rowid: Number(a) });
      } else if (cmd === 'alter') {
        next.schema++;
        alters++;
      } else if (cmd === 'ddl') {
        next.schema++;
        ddl = true;
      } else if (cmd === 'get') {
        const c = next.kv[a];
        result.columns = ['k', 'v'];
        if (c && !c.deleted) result.rows.push({ k: a, v: c.value });
      } else {
        throw new BatteryError('SQL', `cannot run: ${stmt}`);
      }
    }
    const schemaChange = alters > 0 && !ddl && rows.length === 0 && rowWrites.length === 0;
    if (alters > 0 && !schemaChange) ddl = true; // mixed with other writes: a snapshot, like DDL
    if (rows.length === 0 && rowWrites.length === 0 && !ddl && !schemaChange) return result;
    if (rows.length > 0) next.clock = hlc;
    // One step per part a log replay redoes separately (applyChanges, replayRows), so that
    // replay reproduces the version exactly; DDL is restored from a snapshot.
    next.version += (rows.length ? 1 : 0) + (rowWrites.length ? 1 : 0) + (rows.length || rowWrites.length ? 0 : 1);
    this.s = next;
    const changes: ChangeSet | null = rows.length ? { nodes: [next.nodeId], tables: [{ table: 'kv', columns: ['v'], rows }] } : null;
    const tables = [...(rows.length ? ['kv'] : []), ...(rowWrites.length ? ['notes'] : [])];
    const commit: Commit = { origin: 'local', tables, changes, rows: rowWrites, needsSnapshot: ddl, version: next.version };
    if (schemaChange) commit.schemaChange = { sql, schemaVersion: null };
    this.emit(commit);
    return result;
  }

  private emit(c: Commit): void {
    for (const l of [...this.listeners]) l(c);
  }
}

function rowDelta(k: string, c: Cell, node: number): RowDelta {
  return c.deleted
    ? { pk: [k], put: null, del: [c.hlc, node], cells: [] }
    : { pk: [k], put: [c.hlc, node], del: null, cells: [[0, c.value, c.hlc, node]] };
}

export function dumpFake(r: Replica): unknown {
  return (r as FakeReplica).dump();
}
