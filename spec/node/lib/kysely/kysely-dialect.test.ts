import { Kysely, sql, type Generated } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { BatteryDialect } from '../../../../lib/kysely/index.js';
import type { Battery } from '../../../../lib/index.js';
import { Hub } from '../../../../shared-worker/hub/hub.js';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { DurableReplica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { attachTo, newTestBattery } from '../battery-fixture.js';
import { FakeLiveness } from '../../shared-worker/hub/hub-fixture.js';

interface Database {
  notes: { id: string; body: string; done: number };
  counters: { n: Generated<number>; label: string };
}

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A Battery on a hub over the real DurableReplica (sql.js, capture, in-memory storage). */
async function realBattery(): Promise<{ battery: Battery; replica: () => DurableReplica }> {
  let replica: DurableReplica | undefined;
  const hub = new Hub({
    openReplica: async () => (replica = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica, warn: () => {} })),
    liveness: new FakeLiveness(),
  });
  const battery = newTestBattery('kysely-tab');
  await attachTo(battery, hub);
  open.push(hub, battery);
  await battery.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)');
  await battery.enableSync('notes');
  await battery.exec('CREATE TABLE counters (n INTEGER PRIMARY KEY, label TEXT NOT NULL)');
  return { battery, replica: () => replica! };
}

describe('rtc-battery/kysely over a real replica', () => {
  it('typed select, insert, update and delete with Kysely, with affected-row counts and insert ids', async () => {
    const { battery } = await realBattery();
    const db = new Kysely<Database>({ dialect: new BatteryDialect({ battery }) });

    const inserted = await db.insertInto('notes').values([{ id: 'a', body: 'first', done: 0 }, { id: 'b', body: 'second', done: 1 }]).executeTakeFirst();
    expect(inserted.numInsertedOrUpdatedRows).toBe(2n);

    const counter = await db.insertInto('counters').values({ label: 'x' }).executeTakeFirst();
    expect(counter.insertId).toBe(1n);
    const counter2 = await db.insertInto('counters').values({ label: 'y' }).executeTakeFirst();
    expect(counter2.insertId).toBe(2n);

    const open = await db.selectFrom('notes').select(['id', 'body']).where('done', '=', 0).orderBy('id').execute();
    expect(open).toEqual([{ id: 'a', body: 'first' }]);

    const updated = await db.updateTable('notes').set({ done: 1 }).where('id', 'in', ['a', 'b', 'zz']).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(2n);
    const none = await db.updateTable('notes').set({ done: 1 }).where('id', '=', 'zz').executeTakeFirst();
    expect(none.numUpdatedRows).toBe(0n);

    const returned = await db.updateTable('notes').set({ body: 'changed' }).where('id', '=', 'a').returning(['id', 'body']).execute();
    expect(returned).toEqual([{ id: 'a', body: 'changed' }]);

    const deleted = await db.deleteFrom('notes').where('id', '=', 'b').executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(1n);

    const count = await db.selectFrom('notes').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(count.n).toBe(1);
    expect((await battery.exec('SELECT id, body, done FROM notes')).rows).toEqual([{ id: 'a', body: 'changed', done: 1 }]);

    const raw = await sql<{ two: number }>`SELECT 1 + 1 AS two`.execute(db);
    expect(raw.rows).toEqual([{ two: 2 }]);
    await db.destroy();
    expect(battery.isClosed).toBe(false);
  });

  it('Kysely writes are captured: their changes carry to another replica like any exec', async () => {
    const { battery, replica } = await realBattery();
    const db = new Kysely<Database>({ dialect: new BatteryDialect({ battery: async () => battery }) });
    await db.insertInto('notes').values({ id: 'n1', body: 'from kysely', done: 0 }).execute();
    await db.updateTable('notes').set({ done: 1 }).where('id', '=', 'n1').execute();
    const changes = replica().changesSince({});

    const other = await createReplica({});
    open.push({ close: () => other.close() });
    other.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)');
    other.enableSync('notes');
    other.applyChanges(changes);
    expect(other.exec('SELECT id, body, done FROM notes').rows).toEqual([{ id: 'n1', body: 'from kysely', done: 1 }]);
  });

  it('introspects the schema through Kysely\'s SQLite introspector, without the replica\'s internal tables', async () => {
    const { battery } = await realBattery();
    const db = new Kysely<Database>({ dialect: new BatteryDialect({ battery }) });
    const tables = await db.introspection.getTables();
    const notes = tables.find((t) => t.name === 'notes');
    expect(notes?.columns.map((c) => c.name)).toEqual(['id', 'body', 'done']);
    expect(tables.map((t) => t.name).sort()).toEqual(['counters', 'notes']);
    expect((await db.introspection.getMetadata()).tables.map((t) => t.name).sort()).toEqual(['counters', 'notes']);
  });

  it('refuses transactions and streaming with BAD_OP; a bad query rejects with the Battery\'s SQL error', async () => {
    const { battery } = await realBattery();
    const db = new Kysely<Database>({ dialect: new BatteryDialect({ battery }) });
    await expect(db.transaction().execute(async () => {})).rejects.toMatchObject({ code: 'BAD_OP', message: expect.stringMatching(/transactions/) });
    await expect((async () => {
      for await (const _ of db.selectFrom('notes').selectAll().stream()) void _;
    })()).rejects.toMatchObject({ code: 'BAD_OP' });
    await expect(sql`SELECT * FROM missing_table`.execute(db)).rejects.toMatchObject({ code: 'SQL' });
  });
});
