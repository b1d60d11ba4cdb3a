/**
 * Mixed app versions through the mailbox (README "Mixed versions keep syncing"): a member still
 * on version 1 (no `pinned` column) downloads version-2 blobs, keeps their pinned cells, uploads
 * its own edits, and shows the pins once it adds the column; the version-2 member gets its edits.
 */
import { describe, expect, it } from 'vitest';
import { useMailboxMembers } from './mailbox-members.js';

const { server, tempFile, member } = useMailboxMembers();
const ADD = 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0';

describe('mailbox between app versions', () => {
  it('a version-1 member keeps version-2 cells from blobs and shows them after its migration; its edits reach version 2', async () => {
    const s = await server(tempFile());
    const token = 'mailbox-mixed-versions-token-1';
    const a = await member('a1a1a1a1a1a1a1a1', token);
    await a.kit.replica.migrate([ADD]);
    await a.kit.replica.exec("INSERT INTO notes VALUES ('n1', 'from a', 1), ('n2', 'second', 0)");
    const syncA = await a.start(s.mailboxUrl!);
    await syncA.stop();

    const b = await member('b1b1b1b1b1b1b1b1', token);
    const syncB = await b.start(s.mailboxUrl!);
    expect((await b.kit.replica.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual([{ id: 'n1', body: 'from a' }, { id: 'n2', body: 'second' }]);
    await b.kit.replica.exec("UPDATE notes SET body = 'edited by b' WHERE id = 'n2'; INSERT INTO notes VALUES ('n3', 'b only')");
    await syncB.idle();
    await syncB.stop();
    await b.kit.replica.migrate([ADD]);
    expect((await b.kit.replica.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual([
      { id: 'n1', body: 'from a', pinned: 1 },
      { id: 'n2', body: 'edited by b', pinned: 0 },
      { id: 'n3', body: 'b only', pinned: 0 },
    ]);

    const syncA2 = await a.start(s.mailboxUrl!);
    await syncA2.idle();
    expect((await a.kit.replica.exec('SELECT * FROM notes ORDER BY id')).rows).toEqual([
      { id: 'n1', body: 'from a', pinned: 1 },
      { id: 'n2', body: 'edited by b', pinned: 0 },
      { id: 'n3', body: 'b only', pinned: 0 },
    ]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('a snapshot compacted by a version-1 member still carries the version-2 cells to a version-2 newcomer', async () => {
    const s = await server(tempFile());
    const token = 'mailbox-mixed-versions-token-2';
    const a = await member('a2a2a2a2a2a2a2a2', token);
    await a.kit.replica.migrate([ADD]);
    await a.kit.replica.exec("INSERT INTO notes VALUES ('n1', 'from a', 1), ('n2', 'second', 2)");
    const syncA = await a.start(s.mailboxUrl!);
    await syncA.stop();
    // b (version 1) compacts: every later upload of its counts towards a snapshot of its replica.
    const b = await member('b2b2b2b2b2b2b2b2', token);
    const syncB = await b.start(s.mailboxUrl!, 2);
    for (let i = 0; i < 4; i++) {
      await b.kit.replica.exec('INSERT INTO notes VALUES (?, ?)', [`b${i}`, `from b ${i}`]);
      await syncB.idle();
    }
    await syncB.stop();
    const c = await member('c2c2c2c2c2c2c2c2', token);
    await c.kit.replica.migrate([ADD]);
    await c.start(s.mailboxUrl!);
    expect(c.progress.some((p) => p.phase === 'snapshot')).toBe(true);
    expect((await c.kit.replica.exec("SELECT id, pinned FROM notes WHERE id LIKE 'n%' ORDER BY id")).rows).toEqual([{ id: 'n1', pinned: 1 }, { id: 'n2', pinned: 2 }]);
    expect((await c.kit.replica.exec('SELECT count(*) AS n FROM notes')).rows).toEqual([{ n: 6 }]);
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([]);
  });
});
