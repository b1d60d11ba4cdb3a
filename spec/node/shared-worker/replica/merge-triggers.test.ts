/**
 * User triggers and merges (user-triggers.ts): a trigger that would run during a merge and write
 * a synced table is refused with SCHEMA, at enableSync and at CREATE TRIGGER; everything else
 * stays allowed.
 */
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { tablesWrittenBy } from '../../../../shared-worker/replica/user-triggers.js';

const TABLES = 'CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, v TEXT); CREATE TABLE u (id TEXT PRIMARY KEY NOT NULL, v TEXT); CREATE TABLE audit (what TEXT)';

async function replica(ddl = TABLES): Promise<Replica> {
  const r = await createReplica();
  r.exec(ddl);
  return r;
}

function triggerNames(r: Replica): string[] {
  return r.execLocal("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name NOT LIKE '\\_rb\\_%' ESCAPE '\\' ORDER BY name").rows.map((x) => String(x.name));
}

describe('triggers that would write a synced table during a merge', () => {
  it('enableSync refuses the second table when a trigger on the first writes it, naming the trigger', async () => {
    const r = await replica();
    r.exec("CREATE TRIGGER t_to_u AFTER INSERT ON t BEGIN INSERT OR REPLACE INTO u VALUES (NEW.id, 'copy'); END");
    r.enableSync('t'); // u is not synced yet: the trigger writes a plain table
    expect(() => r.enableSync('u')).toThrow(expect.objectContaining({ code: 'SCHEMA', message: expect.stringContaining('trigger "t_to_u" on "t" writes synced table "u"') }));
    expect(r.syncedTables()).toEqual(['t']);
    r.close();
  });

  it('CREATE TRIGGER after enableSync is refused and rolled back, in every write form', async () => {
    const r = await replica();
    r.enableSync('t');
    r.enableSync('u');
    const bodies = [
      "INSERT INTO u VALUES (NEW.id, 'x')",
      "REPLACE INTO \"u\" VALUES (NEW.id, 'x')",
      "UPDATE OR IGNORE [u] SET v = 'x' WHERE id = NEW.id",
      'DELETE FROM `U` WHERE id = NEW.id',
      "UPDATE t SET v = 'self' WHERE id = NEW.id AND v IS NOT 'self'",
    ];
    for (const [i, body] of bodies.entries()) {
      expect(() => r.exec(`CREATE TRIGGER tr${i} AFTER UPDATE ON t BEGIN ${body}; END`), body).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    }
    expect(triggerNames(r)).toEqual([]);
    r.close();
  });

  it('a chain through a non-synced table is refused too', async () => {
    const r = await replica();
    r.enableSync('t');
    r.enableSync('u');
    r.exec("CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN INSERT INTO audit VALUES ('+' || NEW.id); END");
    expect(() => r.exec("CREATE TRIGGER audit_u AFTER INSERT ON audit BEGIN INSERT INTO u VALUES (NEW.what, 'x'); END"))
      .toThrow(expect.objectContaining({ code: 'SCHEMA', message: expect.stringContaining('it runs when trigger "t_audit" writes "audit"') }));
    expect(triggerNames(r)).toEqual(['t_audit']);
    r.close();
  });

  it('still allowed: triggers on synced tables writing plain tables, and triggers on plain tables writing synced ones', async () => {
    const r = await replica();
    r.enableSync('t');
    r.enableSync('u');
    r.exec("CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN INSERT INTO audit SELECT 'insert into u ' || NEW.id FROM u WHERE id = NEW.id; END");
    r.exec("CREATE TABLE feed (x TEXT); CREATE TRIGGER feed_to_u AFTER INSERT ON feed BEGIN INSERT INTO u VALUES (NEW.x, 'fed') ON CONFLICT (id) DO UPDATE SET v = 'fed again'; END");
    r.exec("INSERT INTO feed VALUES ('a'); INSERT INTO t VALUES ('a', '1')");
    expect(r.exec('SELECT * FROM u').rows).toEqual([{ id: 'a', v: 'fed' }]);
    expect(r.exec('SELECT * FROM audit').rows).toEqual([{ what: 'insert into u a' }]);
    r.close();
  });

  it('tablesWrittenBy reads targets from the body only, not the header, literals, comments or DO UPDATE SET', () => {
    expect(tablesWrittenBy("CREATE TRIGGER x AFTER UPDATE OF v ON t BEGIN INSERT INTO a VALUES ('INSERT INTO b'); -- DELETE FROM c\n INSERT INTO d VALUES (1) ON CONFLICT DO UPDATE SET v = 2; END"))
      .toEqual(['a', 'd']);
    expect(tablesWrittenBy('CREATE TRIGGER x AFTER DELETE ON t BEGIN UPDATE OR REPLACE "we""ird" SET v = 1; DELETE FROM [Other]; END')).toEqual(['we"ird', 'other']);
  });
});
