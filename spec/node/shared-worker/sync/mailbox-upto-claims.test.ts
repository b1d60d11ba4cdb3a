/**
 * A mailbox blob is sealed with the room key, so any member can write one: what it claims about
 * the mailbox (`upTo`) must not stop another member from uploading its own changes.
 */
import { describe, expect, it } from 'vitest';
import { deriveMailboxKeys } from '../../../../shared-worker/sync/mailbox-keys.js';
import { sealBlob } from '../../../../shared-worker/sync/mailbox-blob.js';
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
});
