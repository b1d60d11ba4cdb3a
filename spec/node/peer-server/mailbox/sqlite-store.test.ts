import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteMailboxStore } from '../../../../peer-server/mailbox/sqlite-mailbox-store.js';
import { mailboxStoreAcceptance } from './store-acceptance.js';

const dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let last = '';

mailboxStoreAcceptance('SQLite', {
  open: async () => {
    n += 1;
    last = join(dir, `mailbox-${n}.sqlite`);
    return new SqliteMailboxStore(last);
  },
  reopen: async () => new SqliteMailboxStore(last),
});
