/**
 * A mailbox blob is sealed with the room key, so any member can write one: what it claims about
 * the mailbox (`upTo`) must not stop another member from uploading its own changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createBatteryServer, type BatteryServer } from '../../../../peer-server/index.js';
import type { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import { deriveMailboxKeys } from '../../../../shared-worker/sync/mailbox-keys.js';
import type { MailboxSocket } from '../../../../shared-worker/sync/mailbox-client.js';
import { MailboxSync, type MailboxCursor, type MailboxProgress, type MailboxSyncOptions } from '../../../../shared-worker/sync/mailbox-sync.js';
import { sealBlob } from '../../../../shared-worker/sync/mailbox-blob.js';
import { replicaSnapshotStore } from '../../../../shared-worker/sync/mailbox-snapshot-store.js';
import { RawMailboxClient } from '../../peer-server/mailbox/raw-mailbox-client.js';
import { durableKit } from './durable-kit.js';
import type { KitReplica } from './replica-kit.js';

const TABLES = { notes: ['body'] };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const socketFactory = (url: string) => new WebSocket(url) as unknown as MailboxSocket;

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

interface Member {
  kit: KitReplica;
  errors: BatteryError[];
  progress: MailboxProgress[];
  status: string[];
  cursor: { value: MailboxCursor | undefined };
  sync: MailboxSync | undefined;
  start(url: string, compactAfterBlobs?: number, extra?: Partial<MailboxSyncOptions>): Promise<MailboxSync>;
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

const rows = (from: number, n: number, text = 'row') =>
  Array.from({ length: n }, (_, i): [string, { body: string }] => [`r${String(from + i).padStart(5, '0')}`, { body: `${text} ${from + i}` }]);


describe('mailbox: claims of what the mailbox holds', () => {
  it('a member\'s blob claiming upTo far ahead for another member does not stop that member\'s later writes from reaching the mailbox', async () => {
    const s = await server(tempFile());
    const token = 'upto-token';
    const a = await member('a9a9a9a9a9a9a9a9', token);
    await a.kit.upsert('notes', rows(0, 2, 'real'));
    await (await a.start(s.mailboxUrl!)).stop();
    const A = a.kit.replica.nodeId;
    // A room member (it has the token) appends a blob with nothing in it but a lie about A.
    const keys = await deriveMailboxKeys(token);
    const raw = await RawMailboxClient.connect(s.mailboxUrl!);
    cleanups.push(() => raw.close());
    const welcome = await raw.hello(keys.accessKey);
    const head = welcome.t === 'welcome' ? welcome.head : 0;
    const lie = await sealBlob(keys, { kind: 'changes', changes: { nodes: [], tables: [] }, signed: [], upTo: { [A]: a.kit.replica.getVector()[A]! + 2 ** 40 } }, head + 1);
    expect(await raw.request({ t: 'append', seq: head + 1, blob: lie })).toMatchObject({ t: 'ack' });
    // A reads it, writes, and syncs with the mailbox again.
    await (await a.start(s.mailboxUrl!)).stop();
    await a.kit.upsert('notes', [['after', { body: 'written after the lie' }]]);
    const syncA = await a.start(s.mailboxUrl!);
    await syncA.idle();
    await syncA.stop();
    const b = await member('b9b9b9b9b9b9b9b9', token);
    await (await b.start(s.mailboxUrl!)).stop();
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
  });
});
