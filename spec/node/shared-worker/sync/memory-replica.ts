/**
 * A small DurableReplica with the CRDT semantics of docs/merge-rules.md, held in Maps and
 * written with `put`/`remove` instead of SQL. It lets the sync tests and the property test run
 * without sql.js; the same suites run over the real replica where it is available.
 * `applyDelayMs` makes applies slow (pipelining), `failNextApply` simulates SKEW/QUOTA refusals.
 */
import type { CellChange, ChangeSet, RowDelta, SignedBody, SqlValue, TableDelta } from '../../../../shared-worker/replica/contracts/change-set.js';
import { createSigningIdentity, type SigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import type { ApplyOptions, ApplyResult, Commit, DurableReplica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { VersionVector } from '../../../../shared-worker/replica/contracts/version-vector.js';
import { MAX_VECTOR_ENTRIES } from '../../../../shared-worker/protocol/limits.js';

interface Reg {
  hlc: number;
  node: string;
}
interface Cell extends Reg {
  value: SqlValue;
}
interface Row {
  pk: SqlValue[];
  put: Reg | null;
  del: Reg | null;
  cells: Map<string, Cell>;
}
interface Table {
  columns: string[];
  fingerprint: string;
  rows: Map<string, Row>;
}

const newer = (a: Reg, b: Reg | null | undefined) => !b || a.hlc > b.hlc || (a.hlc === b.hlc && a.node > b.node);
const keyOf = (pk: SqlValue[]) => JSON.stringify(pk.map((v) => (v instanceof Uint8Array ? [...v] : v)));

export class MemoryReplica implements DurableReplica {
  private readonly tables = new Map<string, Table>();
  private readonly vector: VersionVector = {};
  private readonly peerVectors = new Map<string, VersionVector>();
  private readonly records = new Map<string, unknown>();
  private readonly listeners = new Set<(c: Commit) => void>();
  private lastHlc = 0;
  private lastCommit: Promise<void> = Promise.resolve();
  private version = 0;
  /** Signed bodies of other nodes, by `node:hlc:bytes` (a big stamp comes in parts; kept for good: the twin has no GC). */
  private readonly bodies = new Map<string, SignedBody>();
  /** Nodes whose body was kept, and our own key-bound id (Replica.isKnownAuthor). */
  private readonly authors = new Set<string>();
  applyCalls = 0;
  failNextApply: BatteryError | null = null;

  /**
   * Without `identity` the twin models a replica of a build without keys: it signs nothing and
   * its node id is any id (unsigned history, docs/security.md "Legacy history").
   */
  constructor(
    readonly nodeId: string,
    private readonly now: () => number = () => Date.now(),
    private readonly maxClockDriftMs = 5 * 60_000,
    readonly identity: SigningIdentity | null = null,
  ) {
    if (identity && identity.nodeId !== nodeId) throw new Error('a signing twin writes under its key-bound node id');
    if (identity) this.authors.add(nodeId);
  }

  /** A twin with a fresh key pair, writing under its key-bound node id. */
  static async signing(now?: () => number, maxClockDriftMs?: number): Promise<MemoryReplica> {
    const identity = await createSigningIdentity();
    return new MemoryReplica(identity.nodeId, now, maxClockDriftMs, identity);
  }

  defineTable(name: string, columns: string[], fingerprint = `v1:${columns.join(',')}`): void {
    this.tables.set(name, { columns, fingerprint, rows: new Map() });
  }

  /** A local write of one exec: upserts (values by column) and deletes, stamped with one hlc. */
  async write(table: string, puts: Array<[pk: SqlValue[], values: Record<string, SqlValue>]>, deletes: SqlValue[][] = []): Promise<void> {
    const hlc = (this.lastHlc = Math.max(this.lastHlc + 1, this.now()));
    const cs: ChangeSet = { nodes: [this.nodeId], tables: [{ table, columns: this.tables.get(table)!.columns, rows: [] }] };
    for (const [pk, values] of puts) {
      const cells: CellChange[] = Object.entries(values).map(([c, v]) => [cs.tables[0]!.columns.indexOf(c), v, hlc, 0]);
      cs.tables[0]!.rows.push({ pk, put: [hlc, 0], del: null, cells });
    }
    for (const pk of deletes) cs.tables[0]!.rows.push({ pk, put: null, del: [hlc, 0], cells: [] });
    const eff = this.merge(cs);
    await this.commit('local', eff);
  }

  async put(table: string, pk: SqlValue, values: Record<string, SqlValue>): Promise<void> {
    return this.write(table, [[[pk], values]]);
  }

  async remove(table: string, pk: SqlValue): Promise<void> {
    return this.write(table, [], [[pk]]);
  }

  /** Visible rows as sorted JSON lines: what "identical tables" compares. */
  dump(table: string): string[] {
    const t = this.tables.get(table)!;
    const out: string[] = [];
    for (const r of t.rows.values()) {
      if (!r.put || !newer(r.put, r.del)) continue;
      out.push(JSON.stringify([r.pk, t.columns.map((c) => r.cells.get(c)?.value ?? null)]));
    }
    return out.sort();
  }

  async exec(): Promise<never> {
    throw new BatteryError('SQL', 'MemoryReplica has no SQL');
  }
  async execLocal(): Promise<never> {
    throw new BatteryError('SQL', 'MemoryReplica has no SQL');
  }
  async enableSync(): Promise<void> {}

  async applyChanges(changes: ChangeSet, options?: ApplyOptions): Promise<ApplyResult> {
    this.applyCalls++;
    await new Promise((r) => setTimeout(r, 0)); // durable storage is asynchronous
    if (this.failNextApply) {
      const e = this.failNextApply;
      this.failNextApply = null;
      throw e;
    }
    for (const t of changes.tables) {
      const local = this.tables.get(t.table);
      if (!local) throw new BatteryError('SCHEMA', `table ${t.table} is not synced here`);
      for (const c of t.columns) if (!local.columns.includes(c)) throw new BatteryError('BAD_OP', `unknown column ${c}`);
      for (const r of t.rows) {
        for (const s of [r.put?.[0], r.del?.[0], ...r.cells.map((c) => c[2])]) {
          if (s !== undefined && s > this.now() + this.maxClockDriftMs) throw new BatteryError('SKEW', `stamp ${s} is too far ahead`);
        }
      }
    }
    // Like the real replica: never more node ids than a hello may carry.
    const fresh = new Set(changes.nodes.filter((n) => !Object.hasOwn(this.vector, n)));
    if (fresh.size > 0 && Object.keys(this.vector).length + fresh.size > MAX_VECTOR_ENTRIES) {
      throw new BatteryError('BAD_OP', 'too many node ids', { limit: 'nodes' });
    }
    const eff = this.merge(changes, options?.vectorCeiling);
    const applied = eff ? countRegs(eff) : 0;
    const kept: SignedBody[] = [];
    for (const b of options?.signed ?? []) {
      const key = `${b.node}:${b.hlc}:${Buffer.from(b.body).toString('base64')}`;
      if (!this.bodies.has(key)) {
        this.bodies.set(key, b);
        this.authors.add(b.node);
        kept.push(b);
      }
    }
    if (eff) await this.commit('remote', eff, kept, options?.vectorCeiling);
    return { applied, changes: eff, tables: eff ? eff.tables.map((t) => t.table) : [] };
  }

  changesSince(since: VersionVector, options?: { tables?: string[] }): ChangeSet {
    const nodes: string[] = [];
    const index = new Map<string, number>();
    const idx = (n: string) => {
      let i = index.get(n);
      if (i === undefined) index.set(n, (i = nodes.push(n) - 1));
      return i;
    };
    const above = (r: Reg | null) => r !== null && r.hlc > (since[r.node] ?? 0);
    const tables: TableDelta[] = [];
    for (const [name, t] of this.tables) {
      if (options?.tables && !options.tables.includes(name)) continue;
      const rows: RowDelta[] = [];
      for (const r of t.rows.values()) {
        const cells: CellChange[] = [];
        t.columns.forEach((c, ci) => {
          const cell = r.cells.get(c);
          if (cell && above(cell)) cells.push([ci, cell.value, cell.hlc, idx(cell.node)]);
        });
        const put = above(r.put) ? ([r.put!.hlc, idx(r.put!.node)] as [number, number]) : null;
        const del = above(r.del) ? ([r.del!.hlc, idx(r.del!.node)] as [number, number]) : null;
        if (put || del || cells.length) rows.push({ pk: r.pk, put, del, cells });
      }
      if (rows.length) tables.push({ table: name, columns: t.columns, rows });
    }
    return { nodes, tables };
  }

  signedSince(since: VersionVector): SignedBody[] {
    return [...this.bodies.values()].filter((b) => b.hlc > (Object.hasOwn(since, b.node) ? since[b.node]! : -1));
  }

  isKnownAuthor(nodeId: string): boolean {
    return this.authors.has(nodeId);
  }

  getVector(): VersionVector {
    return { ...this.vector };
  }
  getVersion(): number {
    return this.version;
  }
  /** The sync model has no schema steps (migrations are the sql.js replica's). */
  async migrate(steps: readonly string[]): Promise<{ from: number; to: number }> {
    return { from: 0, to: steps.length };
  }
  getSchemaVersion(): number {
    return 0;
  }
  fingerprints(): Record<string, string> {
    return Object.fromEntries([...this.tables].map(([n, t]) => [n, t.fingerprint]));
  }
  syncedTables(): string[] {
    return [...this.tables.keys()];
  }
  onCommit(listener: (commit: Commit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  getPeerVector(peerNodeId: string): VersionVector | undefined {
    return this.peerVectors.get(peerNodeId);
  }
  async getRecord(key: string): Promise<unknown> {
    return this.records.get(key);
  }

  async putRecords(entries: ReadonlyArray<readonly [key: string, value: unknown]>): Promise<void> {
    for (const [key, value] of entries) this.records.set(key, value);
  }

  async setPeerVector(peerNodeId: string, vector: VersionVector): Promise<void> {
    this.peerVectors.set(peerNodeId, { ...vector });
  }
  async close(): Promise<void> {}

  /** Merges registers; returns the ones that were new (null if none) and moves the vector. */
  private merge(cs: ChangeSet, ceiling?: VersionVector): ChangeSet | null {
    const out: TableDelta[] = [];
    for (const td of cs.tables) {
      const t = this.tables.get(td.table)!;
      const rows: RowDelta[] = [];
      for (const rd of td.rows) {
        const k = keyOf(rd.pk);
        let row = t.rows.get(k);
        if (!row) t.rows.set(k, (row = { pk: rd.pk, put: null, del: null, cells: new Map() }));
        const eff: RowDelta = { pk: rd.pk, put: null, del: null, cells: [] };
        const reg = (s: [number, number]) => ({ hlc: s[0], node: cs.nodes[s[1]]! });
        if (rd.put && newer(reg(rd.put), row.put)) [row.put, eff.put] = [reg(rd.put), rd.put];
        if (rd.del && newer(reg(rd.del), row.del)) [row.del, eff.del] = [reg(rd.del), rd.del];
        for (const c of rd.cells) {
          const col = td.columns[c[0]]!;
          const r = { hlc: c[2], node: cs.nodes[c[3]]! };
          if (newer(r, row.cells.get(col))) {
            row.cells.set(col, { ...r, value: c[1] });
            eff.cells.push([t.columns.indexOf(col), c[1], c[2], c[3]]);
          }
        }
        if (eff.put || eff.del || eff.cells.length) rows.push(eff);
        for (const s of [rd.put, rd.del, ...rd.cells.map((c) => [c[2], c[3]] as [number, number])]) {
          if (!s) continue;
          const node = cs.nodes[s[1]]!;
          const cap = ceiling && Object.hasOwn(ceiling, node) ? ceiling[node]! : Number.POSITIVE_INFINITY;
          this.vector[node] = Math.max(this.vector[node] ?? 0, Math.min(s[0], cap));
        }
        if (rd.put || rd.del || rd.cells.length) {
          const maxHlc = Math.max(rd.put?.[0] ?? 0, rd.del?.[0] ?? 0, ...rd.cells.map((c) => c[2]));
          this.lastHlc = Math.max(this.lastHlc, maxHlc);
        }
      }
      if (rows.length) out.push({ table: td.table, columns: t.columns, rows });
    }
    return out.length ? { nodes: cs.nodes, tables: out } : null;
  }

  private async commit(origin: 'local' | 'remote', changes: ChangeSet | null, signed: SignedBody[] = [], vectorCeiling?: VersionVector): Promise<void> {
    this.version++;
    const commit: Commit = {
      origin, tables: changes ? changes.tables.map((t) => t.table) : [], changes, ...(signed.length > 0 ? { signed } : {}),
      ...(vectorCeiling ? { vectorCeiling } : {}), rows: [], needsSnapshot: false, version: this.version,
    };
    const durable = Promise.resolve(); // "after the commit is durable"
    this.lastCommit = durable;
    await durable;
    for (const l of this.listeners) l(commit);
  }

  /** Memory is ahead of "storage" until the last commit's microtask (this one never refuses). */
  whenDurable(): Promise<void> {
    return this.lastCommit;
  }
}

function countRegs(cs: ChangeSet): number {
  let n = 0;
  for (const t of cs.tables) for (const r of t.rows) n += r.cells.length + (r.put ? 1 : 0) + (r.del ? 1 : 0);
  return n;
}
