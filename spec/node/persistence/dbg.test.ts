import { it } from 'vitest';
import { MemoryKeyValueStore } from '../../../shared-worker/memory-kv-store.js';
import { createReplica } from '../../../shared-worker/replica.js';
import { openDurableReplica } from '../../../shared-worker/durable-replica.js';
import { schemaDdl, SYNCED } from '../shared-worker/persistence/random-schema.js';
it('timing', async () => {
  const s = { key: 'text', defaults: true, check: true, index: true, trigger: true } as const;
  for (let round = 0; round < 3; round++) {
  let t0 = performance.now();
  const data = new Map();
  const d = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica, warn: () => {} });
  let t1 = performance.now();
  await d.exec(schemaDdl(s));
  let t2 = performance.now();
  for (const t of SYNCED) await d.enableSync(t);
  let t3 = performance.now();
  for (let i = 0; i < 10; i++) await d.exec("INSERT OR REPLACE INTO t VALUES ('a', 'x', 1)");
  let t4 = performance.now();
  await d.close();
  let t5 = performance.now();
  const e = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica, warn: () => {} });
  let t6 = performance.now();
  const r = await createReplica(); r.exec(schemaDdl(s)); for (const t of SYNCED) r.enableSync(t);
  let t7 = performance.now();
  console.log({ open: t1 - t0, ddl: t2 - t1, enable: t3 - t2, tenExec: t4 - t3, close: t5 - t4, reopen: t6 - t5, plainReplica: t7 - t6 });
  await e.close(); r.close();
  }
});
