/**
 * A new synced table through the mailbox (docs/schema-evolution.md, "Tables one peer does not
 * sync"): a member still without the table keeps the table's rows from version-2 blobs (the notes
 * in the same blobs apply as always), shows them once it enables the table, and carries them in
 * the snapshot it compacts, so a version-2 newcomer that reads only that snapshot has them too.
 */
import { describe, expect, it } from 'vitest';
import { useMailboxMembers, type Member } from './mailbox-members.js';

const { server, tempFile, member } = useMailboxMembers();

async function upgrade(m: Member): Promise<void> {
  await m.kit.replica.exec('CREATE TABLE lists (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
  await m.kit.replica.enableSync('lists');
}

const lists = async (m: Member) => (await m.kit.replica.exec('SELECT * FROM lists ORDER BY id')).rows;
const LISTS = [{ id: 'l1', name: 'food' }, { id: 'l2', name: 'books' }];

describe('a new synced table through the mailbox', () => {
  it('a member without the table keeps its rows from blobs, compacts them into the snapshot, and shows them once it enables the table', async () => {
    const s = await server(tempFile());
    const token = 'mailbox-new-table-token-1';
    const a = await member('a3a3a3a3a3a3a3a3', token);
    await upgrade(a);
    await a.kit.replica.exec("INSERT INTO lists VALUES ('l1', 'groceries'), ('l2', 'books'); INSERT INTO notes VALUES ('n1', 'from a')");
    await a.kit.replica.exec("UPDATE lists SET name = 'food' WHERE id = 'l1'");
    const syncA = await a.start(s.mailboxUrl!);
    await syncA.stop();

    // b has no lists table: the blobs' notes apply, their lists rows are kept.
    const b = await member('b3b3b3b3b3b3b3b3', token);
    const syncB = await b.start(s.mailboxUrl!, 2);
    expect((await b.kit.replica.exec('SELECT * FROM notes')).rows).toEqual([{ id: 'n1', body: 'from a' }]);
    for (let i = 0; i < 3; i++) {
      await b.kit.replica.exec('INSERT INTO notes VALUES (?, ?)', [`b${i}`, `from b ${i}`]);
      await syncB.idle();
    }
    await syncB.stop();

    // c (with the table) starts from the snapshot b compacted: the rows came through b.
    const c = await member('c3c3c3c3c3c3c3c3', token);
    await upgrade(c);
    await c.start(s.mailboxUrl!);
    expect(c.progress.some((p) => p.phase === 'snapshot')).toBe(true);
    expect(await lists(c)).toEqual(LISTS);

    await upgrade(b);
    expect(await lists(b)).toEqual(LISTS);
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([]);
  });
});
