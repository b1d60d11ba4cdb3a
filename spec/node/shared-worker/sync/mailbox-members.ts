/**
 * Mailbox members for the worker-side mailbox tests: each a durable replica (the notes table)
 * with a MailboxSync it can start against a real server, recording its errors, progress, status
 * and cursor. `useMailboxMembers()` registers the clean-up of everything it made after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { createBatteryServer, type BatteryServer } from '../../../../peer-server/index.js';
import type { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import { deriveMailboxKeys } from '../../../../shared-worker/sync/mailbox-keys.js';
import type { MailboxSocket } from '../../../../shared-worker/sync/mailbox-client.js';
import { MailboxSync, type MailboxCursor, type MailboxProgress, type MailboxSyncOptions } from '../../../../shared-worker/sync/mailbox-sync.js';
import { replicaSnapshotStore } from '../../../../shared-worker/sync/mailbox-snapshot-store.js';
import { durableKit } from './durable-kit.js';
import type { KitReplica } from './replica-kit.js';

export const socketFactory = (url: string) => new WebSocket(url) as unknown as MailboxSocket;

export const rows = (from: number, n: number, text = 'row') =>
  Array.from({ length: n }, (_, i): [string, { body: string }] => [`r${String(from + i).padStart(5, '0')}`, { body: `${text} ${from + i}` }]);

export interface Member {
  kit: KitReplica;
  errors: BatteryError[];
  progress: MailboxProgress[];
  status: string[];
  cursor: { value: MailboxCursor | undefined };
  sync: MailboxSync | undefined;
  start(url: string, compactAfterBlobs?: number, extra?: Partial<MailboxSyncOptions>): Promise<MailboxSync>;
}

export function useMailboxMembers() {
  const TABLES = { notes: ['body'] };
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function server(file: string, log: string[] = []): Promise<BatteryServer> {
    const s = await createBatteryServer({ port: 0, host: '127.0.0.1', mailbox: file, log: (l) => log.push(l) });
    cleanups.push(() => s.close());
    return s;
  }

  function tempFile(): string {
    const dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-sync-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'mailbox.sqlite');
  }

  async function member(nodeId: string, token: string): Promise<Member> {
    const kit = await durableKit.create(nodeId, TABLES);
    const keys = await deriveMailboxKeys(token);
    const m: Member = {
      kit,
      errors: [],
      progress: [],
      status: [],
      cursor: { value: undefined },
      sync: undefined,
      async start(url, compactAfterBlobs, extra) {
        const sync = new MailboxSync({
          url,
          keys,
          replica: kit.replica,
          socketFactory,
          cursorStore: { load: async () => m.cursor.value, save: async (c) => void (m.cursor.value = c) },
          snapshotStore: replicaSnapshotStore(kit.replica, 'mailbox-test'),
          events: { status: (s) => m.status.push(s), progress: (p) => m.progress.push(p), error: (e) => m.errors.push(e) },
          rowsPerBlob: 300,
          ...(compactAfterBlobs !== undefined ? { compactAfterBlobs } : {}),
          ...extra,
        });
        m.sync = sync;
        cleanups.push(() => sync.stop());
        await sync.start();
        return sync;
      },
    };
    return m;
  }

  return { cleanups, server, tempFile, member };
}
