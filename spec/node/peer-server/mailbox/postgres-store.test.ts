import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresMailboxStore } from '../../../../peer-server/mailbox/postgres-mailbox-store.js';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';
import { mailboxStoreAcceptance } from './store-acceptance.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

let n = 0;
let current = '';

async function freshDatabase(): Promise<string> {
  n += 1;
  current = `mailbox_${n}`;
  const admin = new pg.Client(cluster.connection);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${current}`);
  await admin.end();
  return current;
}

const openOn = (database: string) => PostgresMailboxStore.open({ connection: { ...cluster.connection, database } });

mailboxStoreAcceptance('PostgreSQL', {
  open: async () => openOn(await freshDatabase()),
  reopen: async () => openOn(current),
  openSibling: async () => openOn(current),
});
