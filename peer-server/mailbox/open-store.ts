import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MailboxOptions } from './mailbox-options.js';
import type { MailboxStore } from './mailbox-store.js';
import { PostgresMailboxStore } from './postgres-mailbox-store.js';
import { SqliteMailboxStore } from './sqlite-mailbox-store.js';
import { BatteryError } from '../../shared-worker/protocol/errors.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** The store an option names: a given store, a Postgres URL or config, or a SQLite file. */
export async function openMailboxStore(options: MailboxOptions): Promise<MailboxStore> {
  if (options.store) return options.store;
  if (options.postgres !== undefined) return PostgresMailboxStore.open({ connection: options.postgres });
  const path = options.path;
  if (typeof path !== 'string' || path.trim() === '') {
    throw new BatteryError('SIGNALING', 'mailbox needs a SQLite file path, a postgres:// URL, or a store', { option: 'mailbox' });
  }
  if (POSTGRES_URL.test(path)) return PostgresMailboxStore.open({ connection: path });
  mkdirSync(dirname(path), { recursive: true });
  return new SqliteMailboxStore(path);
}
