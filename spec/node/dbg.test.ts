import { it } from 'vitest';
import { createReplica } from '../../shared-worker/replica.js';
it('dbg', async () => {
  const a = await createReplica();
  a.exec('CREATE TABLE k (id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
  a.enableSync('k');
  for (const id of [5, 2 ** 31 + 7, 1_700_000_000_123, -3, 2 ** 60]) {
    a.exec('INSERT INTO k VALUES (?, ?)', [id, 'x']);
  }
  console.log(JSON.stringify(a.changesSince({}).tables[0]?.rows.map((r) => r.pk)));
});
