import { it, expect } from 'vitest';
import { MemoryKeyValueStore } from '../../../shared-worker/memory-kv-store.js';
import { createReplica } from '../../../shared-worker/replica.js';
import { openDurableReplica } from '../../../shared-worker/durable-replica.js';

async function tryIt(schema: string, stmts: string[]) {
  const data = new Map<string, unknown>();
  const d = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica, warn: () => {} });
  await d.exec(schema);
  await d.enableSync('t');
  for (const s of stmts) await d.exec(s);
  const before = (await d.exec('SELECT * FROM t ORDER BY 1')).rows;
  await d.close();
  const e = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica, warn: () => {} });
  const after = (await e.exec('SELECT * FROM t ORDER BY 1')).rows;
  await e.close();
  expect(after).toEqual(before);
}
it('ipk', async () => {
  await tryIt('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)', ["INSERT INTO t (id, v) VALUES (0,'v0')", "UPDATE t SET v='c' WHERE id=0"]);
});
