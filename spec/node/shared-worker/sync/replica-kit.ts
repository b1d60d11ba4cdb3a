/**
 * The sync suites run over any replica through this kit: create a replica with tables of a text
 * `id` key plus columns, write and delete rows, and read the visible rows back for comparison.
 */
import type { SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';
import type { DurableReplica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { MemoryReplica } from './memory-replica.js';

type Values = Record<string, SqlValue>;

export interface KitReplica {
  replica: DurableReplica;
  upsert(table: string, rows: Array<[id: string, values: Values]>): Promise<void>;
  remove(table: string, ids: string[]): Promise<void>;
  /** Visible rows, sorted, one JSON line each. */
  dump(table: string): Promise<string[]>;
  /** Register values handed to applyChanges so far (what arrived over the wire). */
  received(): number;
}

export interface ReplicaKit {
  name: string;
  /** The replica's hlc number for a wall-clock time (to forge stamps in hostile-input tests). */
  hlcAt(ms: number): number;
  create(nodeId: string, tables: Record<string, string[]>, options?: { now?: () => number }): Promise<KitReplica>;
}

function countRegisters(cs: Parameters<DurableReplica['applyChanges']>[0]): number {
  let n = 0;
  for (const t of cs.tables) for (const r of t.rows) n += r.cells.length + (r.put ? 1 : 0) + (r.del ? 1 : 0);
  return n;
}

/** Counts what reaches applyChanges without changing what it does. */
export function countApplied(replica: DurableReplica): () => number {
  let n = 0;
  const apply = replica.applyChanges.bind(replica);
  replica.applyChanges = (cs, o) => {
    n += countRegisters(cs);
    return apply(cs, o);
  };
  const staged = replica.applyChangesStaged?.bind(replica);
  if (staged) {
    replica.applyChangesStaged = (cs, o) => {
      n += countRegisters(cs);
      return staged(cs, o);
    };
  }
  return () => n;
}

export const memoryKit: ReplicaKit = memoryKitOf(false);
/** Memory twins with key pairs: they sign their own sets and forward others' bodies (node ids are key-bound). */
export const signingMemoryKit: ReplicaKit = memoryKitOf(true);

function memoryKitOf(signing: boolean): ReplicaKit {
  return {
  name: signing ? 'memory replica, signing' : 'memory replica',
  hlcAt: (ms) => ms,
  async create(nodeId, tables, options) {
    const r = signing ? await MemoryReplica.signing(options?.now) : new MemoryReplica(nodeId, options?.now);
    for (const [t, cols] of Object.entries(tables)) r.defineTable(t, cols.map((c) => c.split(':')[0]!), `v1:${cols.join(',')}`);
    const received = countApplied(r);
    return {
      replica: r,
      upsert: (t, rows) => r.write(t, rows.map(([id, v]) => [[id], v])),
      remove: (t, ids) => r.write(t, [], ids.map((id) => [id])),
      dump: async (t) => r.dump(t).map((line) => {
        const [pk, values] = JSON.parse(line) as [SqlValue[], SqlValue[]];
        return JSON.stringify([pk[0], ...values]);
      }).sort(),
      received,
    };
  },
};
}
