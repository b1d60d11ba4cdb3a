import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers.js';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';
import { RawMailboxClient } from './raw-mailbox-client.js';

let cluster: PostgresCluster;
const servers: TestServer[] = [];
const clients: RawMailboxClient[] = [];
beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.server.close()));
  await cluster?.stop();
});

it('two server instances on one Postgres: a blob appended through one is pushed live by the other, and survives both restarting', async () => {
  const one = await startServer({ mailbox: { postgres: cluster.connection } });
  const two = await startServer({ mailbox: { postgres: cluster.connection } });
  servers.push(one, two);
  const key = new Uint8Array(randomBytes(32));
  const writer = await RawMailboxClient.connect(one.server.mailboxUrl!);
  const reader = await RawMailboxClient.connect(two.server.mailboxUrl!);
  clients.push(writer, reader);
  await writer.hello(key);
  await reader.hello(key);
  expect(await reader.request({ t: 'subscribe', after: 0 })).toMatchObject({ t: 'subscribed', head: 0 });
  for (let seq = 1; seq <= 5; seq += 1) {
    expect(await writer.request({ t: 'append', seq, blob: new Uint8Array(8).fill(seq) })).toMatchObject({ t: 'ack', seq });
  }
  await reader.waitFor((r) => r.t === 'push' && r.seq === 5);
  expect(reader.pushes()).toEqual([1, 2, 3, 4, 5]);
  // Both instances race for position 6: one wins, the other is told the new head.
  const [a, b] = await Promise.all([
    writer.request({ t: 'append', seq: 6, blob: new Uint8Array([1]) }),
    reader.request({ t: 'append', seq: 6, blob: new Uint8Array([2]) }),
  ]);
  expect([a.t, b.t].sort()).toEqual(['ack', 'error']);

  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.server.close()));
  const again = await startServer({ mailbox: { postgres: cluster.connection } });
  servers.push(again);
  const late = await RawMailboxClient.connect(again.server.mailboxUrl!);
  clients.push(late);
  expect(await late.hello(key)).toMatchObject({ t: 'welcome', head: 6 });
  const dump = cluster.dump();
  expect(dump).not.toContain(Buffer.from(key).toString('hex'));
});
