/**
 * What the replica knows of the schema between execs without asking SQLite again (replica.ts
 * knownSchema and the unsynced-tables answer): after a lone ADD COLUMN it takes the version as
 * one more than before, and a snapshot's fold keeps the version it knew. A wrong guess either
 * way shows: too high, the next exec's schema change goes unseen (a merge-unsafe trigger let
 * through); too low, the next write is taken for a schema change (a snapshot asked for nothing);
 * a wrong unsynced answer loses the row images of a non-synced table.
 */
import { describe, expect, it } from 'vitest';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';

const TABLES = 'CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, v TEXT); CREATE TABLE u (id TEXT PRIMARY KEY NOT NULL, v TEXT)';
const ADD = 'ALTER TABLE t ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0';

async function syncedT(): Promise<{ r: Replica; commits: Commit[] }> {
  const r = await createReplica();
  r.exec(TABLES);
  r.enableSync('t');
  r.enableSync('u');
  r.exec("INSERT INTO t VALUES ('a', 'x')");
  const commits: Commit[] = [];
  r.onCommit((c) => commits.push(c));
  return { r, commits };
}

/** How each way of reaching the ALTER leaves what the replica knows before it. */
const before: Array<[string, (r: Replica) => void]> = [
  ['after a write', (r) => r.exec("UPDATE t SET v = 'y' WHERE id = 'a'")],
  ['after a snapshot (its fold included)', (r) => {
    r.exec("UPDATE t SET v = 'y' WHERE id = 'a'");
    r.export();
  }],
  ['after another lone ADD', (r) => r.exec('ALTER TABLE t ADD COLUMN extra TEXT')],
];

describe('the schema version known across a lone ADD COLUMN', () => {
  for (const [how, lead] of before) {
    it(`${how}: a merge-unsafe trigger created next is still refused`, async () => {
      const { r } = await syncedT();
      lead(r);
      r.exec(ADD);
      expect(() => r.exec("CREATE TRIGGER t_to_u AFTER UPDATE ON t BEGIN UPDATE u SET v = 'copy' WHERE id = NEW.id; END"))
        .toThrow(expect.objectContaining({ code: 'SCHEMA' }));
      expect(r.execLocal("SELECT name FROM sqlite_schema WHERE name = 't_to_u'").rows).toEqual([]);
      r.close();
    });

    it(`${how}: the writes after it are not taken for schema changes`, async () => {
      const { r, commits } = await syncedT();
      lead(r);
      r.exec(ADD);
      r.exec("UPDATE t SET pinned = 1 WHERE id = 'a'");
      // Two statements: the replica cannot tell from the text that the schema stayed, it compares versions.
      r.exec("UPDATE t SET v = 'z' WHERE id = 'a'; INSERT INTO t(id, v) VALUES ('b', 'w')");
      expect(commits.slice(-3).map((c) => [c.needsSnapshot, Boolean(c.schemaChange)])).toEqual([[false, true], [false, false], [false, false]]);
      expect(r.execLocal('SELECT id, v, pinned FROM t ORDER BY id').rows).toEqual([{ id: 'a', v: 'z', pinned: 1 }, { id: 'b', v: 'w', pinned: 0 }]);
      r.close();
    });
  }

  it('a DDL right after it is seen as a schema change', async () => {
    const { r, commits } = await syncedT();
    r.exec(ADD);
    r.exec('CREATE INDEX t_v ON t(v)');
    expect(commits.at(-1)!.needsSnapshot).toBe(true);
    r.close();
  });

  it('a failing lone ADD leaves the replica knowing the version it had', async () => {
    const { r, commits } = await syncedT();
    r.exec("UPDATE t SET v = 'y' WHERE id = 'a'");
    expect(() => r.exec('ALTER TABLE t ADD COLUMN v2 TEXT NOT NULL')).toThrow(expect.objectContaining({ code: 'SQL' }));
    r.exec("UPDATE t SET v = 'z' WHERE id = 'a'; UPDATE t SET v = 'zz' WHERE id = 'a'");
    expect(commits.at(-1)!.needsSnapshot).toBe(false);
    expect(() => r.exec("CREATE TRIGGER t_to_u AFTER UPDATE ON t BEGIN UPDATE u SET v = 'copy' WHERE id = NEW.id; END"))
      .toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    r.close();
  });
});

/** A synced t and a non-synced plain table, both with a row, then the lone ADD. */
async function addedNextToPlainTable(): Promise<{ r: Replica; commits: Commit[] }> {
  const r = await createReplica();
  r.exec(`${TABLES}; CREATE TABLE plain (k TEXT PRIMARY KEY, n INTEGER)`);
  r.enableSync('t');
  r.exec("INSERT INTO plain VALUES ('p', 1); INSERT INTO t VALUES ('a', 'x')");
  const commits: Commit[] = [];
  r.onCommit((c) => commits.push(c));
  r.exec(ADD);
  return { r, commits };
}

describe('the non-synced tables answer across a lone ADD COLUMN', () => {
  it('row images of a non-synced table written after it are still in the commit', async () => {
    const { r, commits } = await addedNextToPlainTable();
    r.exec("UPDATE plain SET n = 2 WHERE k = 'p'; UPDATE t SET pinned = 1 WHERE id = 'a'");
    const last = commits.at(-1)!;
    expect(last.rows).toEqual([{ op: 'upsert', table: 'plain', rowid: 1, columns: ['k', 'n'], values: ['p', 2] }]);
    expect(last.needsSnapshot).toBe(false);
    r.close();
  });

  it('a write the update hook does not report, made after it, still asks for a snapshot', async () => {
    const { r, commits } = await addedNextToPlainTable();
    // The truncate optimization deletes without a hook call per row (sqlite.org/c3ref/update_hook.html):
    // only comparing total_changes(), which the replica does when non-synced tables exist, sees it.
    r.exec("DELETE FROM plain; UPDATE t SET pinned = 1 WHERE id = 'a'");
    expect(commits.at(-1)!.needsSnapshot).toBe(true);
    r.close();
  });

  it('a table created by execLocal between the ADD and the next exec is counted', async () => {
    const { r, commits } = await syncedT();
    r.exec(ADD);
    r.execLocal('CREATE TABLE later (k TEXT PRIMARY KEY, n INTEGER)');
    r.exec("INSERT INTO later VALUES ('q', 1); UPDATE t SET pinned = 1 WHERE id = 'a'");
    expect(commits.at(-1)!.rows).toEqual([{ op: 'upsert', table: 'later', rowid: 1, columns: ['k', 'n'], values: ['q', 1] }]);
    r.close();
  });
});
