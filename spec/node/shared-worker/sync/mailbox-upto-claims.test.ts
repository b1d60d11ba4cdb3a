/**
 * A mailbox blob is sealed with the room key, so any member can write one: what it claims about
 * the mailbox (`upTo`), or which of another member's genuine sets it holds, must not stop that
 * member from uploading its own changes.
 */
import { describe, expect, it } from 'vitest';
import { deriveMailboxKeys } from '../../../../shared-worker/sync/mailbox-keys.js';
import { sealBlob } from '../../../../shared-worker/sync/mailbox-blob.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { signChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import { RawMailboxClient } from '../../peer-server/mailbox/raw-mailbox-client.js';
import { rows, useMailboxMembers } from './mailbox-members.js';

const { cleanups, server, tempFile, member } = useMailboxMembers();

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

  it('a blob holding only a member\'s later genuine set does not move readers past that member\'s earlier changes', async () => {
    const s = await server(tempFile());
    const token = 'withheld-token';
    const a = await member('a8a8a8a8a8a8a8a8', token);
    await a.kit.upsert('notes', [['v1', { body: 'first' }]]);
    const A = a.kit.replica.nodeId;
    const h1 = a.kit.replica.getVector()[A]!;
    // A's next set as any member receives it live (prev: v1's stamp), appended alone, as the end
    // of an upload, by a member; A's v1 is not in the mailbox yet.
    const h2 = h1 + 1024;
    const later: ChangeSet = { nodes: [A], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: ['v2'], put: [h2, 0], del: null, cells: [[0, 'second', h2, 0]] }] }] };
    const body2 = await signChangeSet(a.kit.replica.identity!, later, { prev: h1, parts: 1 });
    const keys = await deriveMailboxKeys(token);
    const raw = await RawMailboxClient.connect(s.mailboxUrl!);
    cleanups.push(() => raw.close());
    const welcome = await raw.hello(keys.accessKey);
    const head = welcome.t === 'welcome' ? welcome.head : 0;
    const blob = await sealBlob(keys, { kind: 'changes', changes: { nodes: [], tables: [] }, signed: [body2], upTo: {} }, head + 1);
    expect(await raw.request({ t: 'append', seq: head + 1, blob })).toMatchObject({ t: 'ack' });
    // A reads it, then uploads: its cursor must still say the mailbox lacks v1.
    const syncA = await a.start(s.mailboxUrl!);
    await syncA.idle();
    await syncA.stop();
    expect(a.cursor.value!.vector[A]).toBe(h2);
    const b = await member('b8b8b8b8b8b8b8b8', token);
    await (await b.start(s.mailboxUrl!)).stop();
    expect(await b.kit.dump('notes')).toEqual([JSON.stringify(['v1', 'first']), JSON.stringify(['v2', 'second'])]);
    expect(b.kit.replica.getVector()[A]).toBe(h2);
    expect(b.errors).toEqual([]);
  });

  it('an uploader whose newest stamp was superseded before it uploaded still continues its chain for readers', async () => {
    const s = await server(tempFile());
    const token = 'chain-token';
    const a = await member('a7a7a7a7a7a7a7a7', token);
    const b = await member('b7b7b7b7b7b7b7b7', token);
    const c = await member('c7c7c7c7c7c7c7c7', token);
    const A = a.kit.replica.nodeId;
    await a.kit.upsert('notes', [['x', { body: 'a x' }]]);
    await a.kit.upsert('notes', [['y', { body: 'a y' }]]); // A's newest stamp...
    await b.kit.upsert('notes', [['y', { body: 'b y' }]]); // ...superseded by B's, which A reads before it uploads
    await (await b.start(s.mailboxUrl!)).stop();
    const first = await a.start(s.mailboxUrl!);
    await first.idle();
    await first.stop();
    await a.kit.upsert('notes', [['z', { body: 'a z' }]]);
    const second = await a.start(s.mailboxUrl!);
    await second.idle();
    await second.stop();
    const h3 = a.kit.replica.getVector()[A]!;
    await (await c.start(s.mailboxUrl!)).stop();
    expect(await c.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    // The second upload's set names the newest stamp the first one carried (x's), which C holds:
    // C follows A's chain to the end instead of stopping before z.
    expect(c.kit.replica.getVector()[A]).toBe(h3);
    expect(c.cursor.value!.vector[A]).toBe(h3);
  });
});
