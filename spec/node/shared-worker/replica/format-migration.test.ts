import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { clockRowCounts, dump, ITEMS_DDL, registers, syncedReplica } from './replica-helpers.js';

/** Turns an export into what format 1 wrote: an insert trigger writing clock rows, format = 1. */
async function asFormat1(bytes: Uint8Array): Promise<Uint8Array> {
  const db = new (await initSqlJs()).Database(bytes);
  try {
    db.run(`CREATE TRIGGER _rb_c1_ins AFTER INSERT ON items WHEN (SELECT mode FROM _rb_ctx) <> 0 BEGIN
      INSERT INTO _rb_c1(rid, ver, put, del, s0, s1, s2) SELECT NEW.rowid, v, v, NULL, v, v, v FROM _rb_ctx; END;
      UPDATE _rb_meta SET v = 1 WHERE k = 'format'`);
    return db.export();
  } finally {
    db.close();
  }
}

async function triggersAndFormat(bytes: Uint8Array): Promise<{ triggers: string[]; format: number; deleteTrigger?: string }> {
  const db = new (await initSqlJs()).Database(bytes);
  try {
    const triggers = db.exec("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")[0]!.values.map((r) => String(r[0]));
    const format = Number(db.exec("SELECT v FROM _rb_meta WHERE k = 'format'")[0]!.values[0]![0]);
    return { triggers, format };
  } finally {
    db.close();
  }
}

async function storedText(bytes: Uint8Array, name: string): Promise<string> {
  const db = new (await initSqlJs()).Database(bytes);
  try {
    return String(db.exec('SELECT sql FROM sqlite_schema WHERE name = ?', [name])[0]!.values[0]![0]);
  } finally {
    db.close();
  }
}

describe('opening a file of an older format', () => {
  it('format 1: the insert trigger goes, inserts are captured once, and the file says format 4', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL)");
    const old = await asFormat1(a.export());
    expect((await triggersAndFormat(old)).triggers).toContain('_rb_c1_ins');

    const b = await createReplica({ data: old });
    expect(await triggersAndFormat(b.export())).toEqual({ triggers: ['_rb_c1_chg', '_rb_c1_del', '_rb_c1_upd'], format: 4 });
    b.exec("INSERT INTO items VALUES ('b', 'B', 2, NULL); UPDATE items SET qty = 3 WHERE id = 'a'; DELETE FROM items WHERE id = 'a'");
    expect(await clockRowCounts(b, 'items', 1)).toEqual({ rows: 1, matched: 1, clocks: 1 });

    const c = await createReplica();
    c.exec(ITEMS_DDL);
    c.enableSync('items');
    c.applyChanges(b.changesSince({}));
    expect(dump(c)).toBe(dump(b));
    expect(registers(c)).toBe(registers(b));
  });

  it('format 3: the delete and key-change triggers become guards, the update log keeps its entries, and the file says format 4', async () => {
    // fixtures/make-format3-file.ts made it: two updates still in the update log, a tombstone, a key change.
    const old = new Uint8Array(gunzipSync(readFileSync(new URL('./fixtures/format3-file.sqlite.gz', import.meta.url))));
    expect(await triggersAndFormat(old)).toEqual({ triggers: ['_rb_c1_chg', '_rb_c1_del', '_rb_c1_upd'], format: 3 });
    expect(await storedText(old, '_rb_c1_del')).toContain('INSERT INTO _rb_x1');

    const b = await createReplica({ data: old, now: () => 1_700_000_100_000 });
    // What the code that wrote the file answered for it: the pending entries were read, not lost.
    const then = JSON.parse(readFileSync(new URL('./fixtures/format3-changes.json', import.meta.url), 'utf8')) as unknown;
    expect(JSON.parse(JSON.stringify(b.changesSince({})))).toEqual(then);
    const now = b.export();
    expect(await triggersAndFormat(now)).toEqual({ triggers: ['_rb_c1_chg', '_rb_c1_del', '_rb_c1_upd'], format: 4 });
    expect(await storedText(now, '_rb_c1_del')).not.toContain('INSERT');

    b.exec("DELETE FROM items WHERE id = 'c'; UPDATE items SET id = 'dd', qty = 40 WHERE id = 'd'");
    const c = await createReplica({ now: () => 1_700_000_100_000 });
    c.exec(ITEMS_DDL);
    c.enableSync('items');
    c.applyChanges(b.changesSince({}));
    expect(dump(c)).toBe(dump(b));
    expect(registers(c)).toBe(registers(b));
    expect(c.exec('SELECT id, qty, note FROM items ORDER BY id').rows).toEqual([{ id: 'bb', qty: 2, note: 'x' }, { id: 'dd', qty: 40, note: 'z' }]);
  });

  it('a file of a newer format is refused with VERSION', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const db = new (await initSqlJs()).Database(a.export());
    db.run("UPDATE _rb_meta SET v = 99 WHERE k = 'format'");
    const newer = db.export();
    db.close();
    await expect(createReplica({ data: newer })).rejects.toMatchObject({ code: 'VERSION' });
  });
});
