/**
 * The canonical ADD COLUMN (added-column.ts canonicalAddedColumn): a text of that form is run in
 * one call that commits without reading the table back, so the reading must be SQLite's for every
 * such text, and the replica must end where the general path (which reads back) ends: same rows,
 * shape, fingerprint, versions, commit and errors. Random texts, seeded (FC_SEED).
 */
import fc from 'fast-check';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { canonicalAddedColumn } from '../../../../shared-worker/replica/added-column.js';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { dump, pull, syncedReplica } from './replica-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261207);
const NOTES = 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT)';

const anyCase = (word: string) => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((up) => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
/** Names, keywords among them: SQLite takes some as names (fallback to ID) and refuses others. */
const name = fc.oneof(
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,7}$/),
  fc.constantFrom('key', 'abort', 'action', 'desc', 'replace', 'title', 'id', 'not', 'null', 'default', 'primary', 'check', 'column', 'table', 'text', 'integer', 'rowid', 'oid'),
).chain(anyCase);
const type = fc.constantFrom('INTEGER', 'INT', 'TEXT', 'REAL', 'BLOB').chain(anyCase);
const literal = fc.oneof(fc.nat().map(String), fc.tuple(fc.nat(999), fc.nat(999)).map(([a, b]) => `${a}.${b}`), fc.stringMatching(/^[^']{0,6}$/).map((s) => `'${s}'`));
const canonicalText = fc.record({
  alter: anyCase('alter'), table: anyCase('table'), tableName: anyCase('notes'), add: anyCase('add'), column: fc.option(anyCase('column'), { nil: undefined }),
  name, type, notNull: fc.option(fc.tuple(anyCase('not'), anyCase('null')), { nil: undefined }), dflt: fc.option(fc.tuple(anyCase('default'), literal), { nil: undefined }),
  semicolons: fc.constantFrom('', ';', ' ;;'),
})
  // A column named "column" without the COLUMN keyword reads as the keyword (SQLite agrees): another text.
  .filter((r) => r.column !== undefined || r.name.toLowerCase() !== 'column')
  .map((r) => [r.alter, r.table, r.tableName, r.add, r.column, r.name, r.type, ...(r.notNull ?? []), ...(r.dflt ?? [])].filter((x) => x !== undefined).join(' ') + r.semicolons);

/** What SQLite itself makes of `alter` on the table with a row: the added column's table_xinfo, or its error. */
async function sqliteReading(alter: string): Promise<{ name: string; type: string; notNull: boolean; dflt: string | null } | { error: string }> {
  const db = new (await initSqlJs()).Database();
  try {
    db.run(NOTES);
    db.run("INSERT INTO notes VALUES ('n1', 't1')");
    try {
      db.run(alter);
    } catch (e) {
      return { error: String(e) };
    }
    const last = db.exec("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_xinfo('notes') ORDER BY cid DESC LIMIT 1")[0]!.values[0]!;
    return { name: String(last[0]), type: String(last[1]), notNull: last[2] === 1, dflt: last[3] === null ? null : String(last[3]) };
  } finally {
    db.close();
  }
}

async function notes(nodeId: string): Promise<{ r: Replica; commits: Commit[] }> {
  const { r } = await syncedReplica(nodeId, NOTES, 'notes');
  r.exec("INSERT INTO notes VALUES ('n1', 't1'), ('n2', 't2')");
  r.exec("UPDATE notes SET title = 'T1' WHERE id = 'n1'");
  const commits: Commit[] = [];
  r.onCommit((c) => commits.push(c));
  return { r, commits };
}

/** An exec's outcome comparable across replicas: its error (message), or what it left. */
function outcome(r: Replica, commits: Commit[], run: () => unknown): Record<string, unknown> & { error?: string } {
  try {
    run();
  } catch (e) {
    return { error: `${(e as { code?: string }).code}: ${(e as Error).message}`, version: r.getVersion(), data: dump(r), commits: commits.length };
  }
  const c = commits.at(-1)!;
  return { version: r.getVersion(), schema: r.getSchemaVersion(), data: dump(r), fingerprints: r.fingerprints(), commit: { tables: c.tables, changes: c.changes, rows: c.rows, needsSnapshot: c.needsSnapshot, schemaVersion: c.schemaChange?.schemaVersion } };
}

describe('the canonical ADD COLUMN, read without reading the table back', () => {
  it('reads every canonical text as SQLite does (or SQLite refuses it)', async () => {
    console.log(`canonical-add property seed: ${SEED} (set FC_SEED to change)`);
    await fc.assert(fc.asyncProperty(canonicalText, async (text) => {
      const read = canonicalAddedColumn(text);
      expect(read).not.toBeNull();
      const sqlite = await sqliteReading(text);
      if ('error' in sqlite) return;
      expect(read).toEqual({ table: text.split(' ')[2], column: sqlite });
    }), { seed: SEED, numRuns: 300 });
  });

  it('reads a canonical text with any character put anywhere as SQLite does, or leaves it to the path that reads back', async () => {
    // Where JavaScript and SQLite part ways: Unicode spaces, case mappings, lone surrogates, ASCII controls.
    const odd = fc.constantFrom('\u00a0', '\u3000', '\ufeff', '\u2028', '\u0131', '\u017f', '\u212a', '\ud800', '\udc00', '\u00e9', '\v', '\t', '\n', '\r', '\f', '\0', ' ', ';', "'", '-', '"');
    await fc.assert(fc.asyncProperty(canonicalText, odd, fc.nat(), async (text, c, at) => {
      const i = at % (text.length + 1);
      const changed = text.slice(0, i) + c + text.slice(i);
      const read = canonicalAddedColumn(changed);
      if (read === null) return;
      const sqlite = await sqliteReading(changed);
      if ('error' in sqlite) return;
      expect(read.column).toEqual(sqlite);
    }), { seed: SEED, numRuns: 1000 });
  });

  it('ends where the general path ends: rows, shape, fingerprint, versions, commit and errors, as an exec and as a migration step', async () => {
    await fc.assert(fc.asyncProperty(canonicalText, fc.boolean(), async (text, asMigration) => {
      const a = await notes('aaaaaaaaaaaaaaaa');
      const b = await notes('aaaaaaaaaaaaaaaa');
      // A second space keeps the text from the canonical form (the general path, which reads back)
      // and changes nothing else: the type is one word. (Not a trailing comment: SQLite keeps it in
      // the table's text, where it hides the closing parenthesis.)
      const general = text.replace(' ', '  ');
      expect(canonicalAddedColumn(general)).toBeNull();
      const run = (r: Replica, sql: string) => (asMigration ? r.migrate([sql]) : r.exec(sql));
      const got = outcome(a.r, a.commits, () => run(a.r, text));
      const want = outcome(b.r, b.commits, () => run(b.r, general));
      expect(got).toEqual(want.error === undefined ? want : { ...want, error: want.error.replace(general, text) });
      if ('error' in got) {
        // Nothing half done: the replica goes on as before.
        a.r.exec("UPDATE notes SET title = 'again' WHERE id = 'n2'");
        expect(a.r.execLocal('PRAGMA integrity_check').rows).toEqual([{ integrity_check: 'ok' }]);
        return;
      }
      // A peer that created the table with the column shares it, and the column's writes travel.
      const read = canonicalAddedColumn(text)!.column;
      a.r.exec(`UPDATE notes SET "${read.name}" = 5 WHERE id = 'n2'`);
      const { r: c } = await syncedReplica('cccccccccccccccc', NOTES.replace(')', `, ${text.replace(/[\s;]+$/, '').split(' ').slice(text.split(' ')[4]!.toUpperCase() === 'COLUMN' ? 5 : 4).join(' ')})`), 'notes');
      expect(c.fingerprints()).toEqual(a.r.fingerprints());
      pull(c, a.r);
      expect(dump(c)).toBe(dump(a.r));
    }), { seed: SEED, numRuns: 60 });
  });

  it('leaves every other text to the path that reads back', () => {
    for (const text of [
      'ALTER TABLE notes ADD COLUMN pinned  INTEGER',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER -- why',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER DEFAULT -1',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER DEFAULT 1e3',
      "ALTER TABLE notes ADD COLUMN pinned TEXT DEFAULT 'it''s'",
      'ALTER TABLE notes ADD COLUMN pinned NUMERIC',
      'ALTER TABLE notes ADD COLUMN pinned ANY',
      'ALTER TABLE notes ADD COLUMN pinned',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER COLLATE NOCASE',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER CHECK (pinned > 0)',
      'ALTER TABLE notes ADD COLUMN "pinned" INTEGER',
      'ALTER TABLE main.notes ADD COLUMN pinned INTEGER',
      'ALTER TABLE notes ADD COLUMN _rb_pinned INTEGER',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER NULL',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER DEFAULT 0 NOT NULL',
      'ALTER TABLE notes ADD COLUMN pinned INTEGER; SELECT 1',
      'ALTER TABLE notes DROP COLUMN title',
      // Read otherwise by SQLite than by JavaScript (a review found these committed unread).
      'ALTER TABLE notes ADD COLUMN x INTEGER\u00a0',
      'ALTER TABLE notes ADD COLUMN x TEXT \u3000',
      'ALTER TABLE notes ADD COLUMN x \u0131nteger',
      "ALTER TABLE notes ADD COLUMN x TEXT NOT NULL DEFAULT '\ud800'",
      "ALTER TABLE notes ADD COLUMN x TEXT DEFAULT '\u00e9'",
    ]) expect(canonicalAddedColumn(text), text).toBeNull();
  });

  it('a DEFAULT SQLite receives otherwise than written (a lone surrogate) gives every replica the same rows', async () => {
    const text = "ALTER TABLE notes ADD COLUMN x TEXT NOT NULL DEFAULT '\ud800'";
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', NOTES, 'notes');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', NOTES, 'notes');
    const { r: p } = await syncedReplica('cccccccccccccccc', NOTES, 'notes');
    a.exec(text);
    b.exec(text.replace(' ', '  '));
    p.exec("INSERT INTO notes VALUES ('p1', 't')");
    pull(a, p);
    pull(b, p);
    expect(dump(a)).toBe(dump(b));
  });

  it('commits in the call: the exec is one call into sql.js, and a refused ALTER leaves the transaction closed', async () => {
    const { r } = await notes('aaaaaaaaaaaaaaaa');
    const raw = (r as unknown as { db: { execRaw(sql: string): void } }).db;
    const calls: string[] = [];
    const execRaw = raw.execRaw.bind(raw);
    raw.execRaw = (sql: string) => { calls.push(sql); execRaw(sql); };
    r.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^BEGIN;[\s\S]*ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0\n;COMMIT;$/);
    expect(() => r.exec('ALTER TABLE notes ADD COLUMN n INTEGER NOT NULL')).toThrow(/NOT NULL/);
    // Had the refused call left its transaction open, this exec's BEGIN would fail.
    r.exec("UPDATE notes SET pinned = 1 WHERE id = 'n1'");
    expect(r.execLocal("SELECT pinned FROM notes WHERE id = 'n1'").rows).toEqual([{ pinned: 1 }]);
  });
});
