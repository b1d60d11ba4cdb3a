/**
 * The real thing for the sync suites: the sql.js replica (replica.ts) behind the durable log
 * (durable-replica.ts) over an in-memory key-value store.
 */
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';
import { countApplied, type ReplicaKit } from './replica-kit.js';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export const durableKit: ReplicaKit = {
  name: 'sql.js replica + durable log',
  hlcAt: hlcFromMs,
  async create(nodeId, tables, options) {
    const replica = await openDurableReplica({
      store: new MemoryKeyValueStore(),
      createReplica,
      replicaOptions: { nodeId, ...(options?.now ? { now: options.now } : {}) },
      warn: () => {},
    });
    for (const [t, cols] of Object.entries(tables)) {
      // A column spec is `name` or `name:TYPE` (a declared type, for tests of differing definitions).
      await replica.exec(`CREATE TABLE ${quote(t)} (id TEXT PRIMARY KEY NOT NULL${cols.map((c) => `, ${quote(c.split(':')[0]!)} ${c.split(':')[1] ?? ''}`).join('')})`);
      await replica.enableSync(t);
    }
    const columnsOf = (t: string) => tables[t]!.map((c) => c.split(':')[0]!);
    return {
      replica,
      received: countApplied(replica),
      async upsert(t, rows) {
        // One statement (one exec, one stamp); the rows of one call share their column set.
        const cols = Object.keys(rows[0]![1]);
        const tuple = `(?${', ?'.repeat(cols.length)})`;
        const sql = `INSERT INTO ${quote(t)} (id${cols.map((c) => `, ${quote(c)}`).join('')}) VALUES ${rows.map(() => tuple).join(', ')}
          ON CONFLICT(id) DO UPDATE SET ${cols.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}`;
        const params: SqlValue[] = rows.flatMap(([id, v]) => [id, ...cols.map((c) => v[c] ?? null)]);
        await replica.exec(sql, params);
      },
      async remove(t, ids) {
        await replica.exec(`DELETE FROM ${quote(t)} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
      },
      async dump(t) {
        const cols = columnsOf(t);
        const r = await replica.exec(`SELECT id${cols.map((c) => `, ${quote(c)}`).join('')} FROM ${quote(t)} ORDER BY id`);
        return r.rows.map((row) => JSON.stringify([row.id, ...cols.map((c) => row[c] ?? null)])).sort();
      },
    };
  },
};
