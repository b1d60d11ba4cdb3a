import { describe, expect, it } from 'vitest';
import { Hub } from '../../../../shared-worker/hub/hub.js';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { DurableReplica, ExecResult } from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { KeyValueWrite } from '../../../../shared-worker/persistence/kv-store.js';
import { attachTo, newTestBattery } from '../../lib/battery-fixture.js';
import { FakeLiveness } from './hub-fixture.js';
import { settle } from './memory-port.js';

/** A store whose next write (once armed) waits until the test lets it through. */
class HeldStore extends MemoryKeyValueStore {
  held: (() => void) | null = null;
  private armed = false;

  arm(): void {
    this.armed = true;
  }

  override write(batch: KeyValueWrite): Promise<void> {
    if (!this.armed) return super.write(batch);
    this.armed = false;
    return new Promise<void>((resolve, reject) => {
      this.held = () => { super.write(batch).then(resolve, reject); };
    });
  }
}

async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 1));
}

async function realHub(store = new MemoryKeyValueStore()) {
  const hub = new Hub({
    openReplica: () => openDurableReplica({ store, createReplica, warn: () => {} }),
    liveness: new FakeLiveness(),
  });
  return { hub, store };
}

describe('hub over the real DurableReplica', () => {
  it('serves exec, enableSync and watches with the real replica and storage', async () => {
    const { hub } = await realHub();
    const a = newTestBattery('a');
    const b = newTestBattery('b');
    await attachTo(a, hub);
    await attachTo(b, hub);
    expect(a.getNodeId()).toMatch(/^[0-9a-f]{16}$/);
    expect(b.getNodeId()).toBe(a.getNodeId());
    await a.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await a.enableSync('notes');
    const seen: ExecResult[] = [];
    b.watch('SELECT id, body FROM notes ORDER BY id', [], (r) => seen.push(r));
    await settle();
    expect(seen.map((r) => r.rows)).toEqual([[]]);
    await a.exec('INSERT INTO notes VALUES (?, ?)', ['1', 'one']);
    await settle(10);
    expect(seen.at(-1)!.rows).toEqual([{ id: '1', body: 'one' }]);
    expect(b.getLocalVersion()).toBeGreaterThan(0);
    expect(a.getVersion()).toBeGreaterThan(0);
    await a.close();
    await b.close();
    await hub.close();
  });

  it("re-runs watches on a peer's change once merged in memory; a local write and the change event wait for storage", async () => {
    const store = new HeldStore();
    let durable: DurableReplica | null = null;
    const hub = new Hub({
      openReplica: async () => (durable = await openDurableReplica({ store, createReplica, warn: () => {} })),
      liveness: new FakeLiveness(),
    });
    const db = newTestBattery('early');
    await attachTo(db, hub);
    const schema = 'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)';
    await db.exec(schema);
    await db.enableSync('notes');
    const seen: string[][] = [];
    db.watch('SELECT body FROM notes ORDER BY id', null, (r) => seen.push(r.rows.map((row) => String(row.body))));
    const changes: string[] = [];
    db.on('change', (tables) => changes.push(tables.join()));
    await settle(10);
    expect(seen).toEqual([[]]);

    const peer = await createReplica({});
    peer.exec(schema);
    peer.enableSync('notes');
    peer.exec("INSERT INTO notes VALUES ('p', 'from a peer')");
    const reruns = hub.diagnostics().watchReruns;
    store.arm();
    const applied = durable!.applyChanges(peer.changesSince({}));
    await until(() => seen.length === 2);
    expect(store.held).not.toBeNull(); // still being stored
    expect(seen[1]).toEqual(['from a peer']);
    expect(changes).toEqual([]);
    store.held!();
    await applied;
    await settle(10);
    expect(changes).toEqual(['notes']);
    expect(seen).toHaveLength(2);
    expect(hub.diagnostics().watchReruns).toBe(reruns + 1); // not re-run again once stored

    store.held = null;
    store.arm();
    const written = db.exec("INSERT INTO notes VALUES ('q', 'local')");
    await until(() => store.held !== null);
    await settle(20);
    expect(seen).toHaveLength(2); // a local write shows only once stored
    store.held!();
    await written;
    await settle(10);
    expect(seen.at(-1)).toEqual(['from a peer', 'local']);
    peer.close();
    await db.close();
    await hub.close();
  });

  it('refuses watches that write, without writing, and finds tables through views', async () => {
    const { hub } = await realHub();
    const db = newTestBattery('w');
    await attachTo(db, hub);
    await db.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT); CREATE VIEW v AS SELECT body FROM notes');
    await db.enableSync('notes');
    const errors: string[] = [];
    db.watch("INSERT INTO notes VALUES ('x', 'y')", null, () => errors.push('called'), (e) => errors.push(e.code));
    db.watch("SELECT 1; DELETE FROM notes", null, () => errors.push('called'), (e) => errors.push(e.code));
    const seen: ExecResult[] = [];
    db.watch('SELECT body FROM v', null, (r) => seen.push(r));
    await settle(10);
    expect(errors).toEqual(['BAD_OP', 'BAD_OP']);
    expect((await db.exec('SELECT count(*) AS n FROM notes')).rows).toEqual([{ n: 0 }]);
    await db.exec("INSERT INTO notes VALUES ('1', 'through the view')");
    await settle(10);
    expect(seen.at(-1)!.rows).toEqual([{ body: 'through the view' }]);
    await db.close();
    await hub.close();
  });

  it('an ADD COLUMN logged without a snapshot still re-runs watches that read the schema', async () => {
    const { hub } = await realHub();
    const db = newTestBattery('s');
    await attachTo(db, hub);
    await db.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await db.enableSync('notes');
    const seen: ExecResult[] = [];
    db.watch("SELECT name FROM pragma_table_info('notes') ORDER BY cid", null, (r) => seen.push(r));
    await settle(10);
    expect(seen.at(-1)!.rows).toEqual([{ name: 'id' }, { name: 'body' }]);
    await db.exec('ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    await settle(10);
    expect(seen.at(-1)!.rows).toEqual([{ name: 'id' }, { name: 'body' }, { name: 'pinned' }]);
    await db.close();
    await hub.close();
  });

  it('a new worker on the same storage sees every acknowledged write (dedicated-mode host change)', async () => {
    const { hub, store } = await realHub();
    const db = newTestBattery('t');
    await attachTo(db, hub);
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 0; i < 5; i++) await db.exec('INSERT INTO t VALUES (?, ?)', [i, `v${i}`]);
    db.detach('the tab hosting the database closed');
    // the old host's replica is simply abandoned (its tab died); the store is what survives
    const next = new Hub({
      openReplica: () => openDurableReplica({ store, createReplica, warn: () => {} }),
      liveness: new FakeLiveness(),
    });
    await attachTo(db, next);
    expect((await db.exec('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 5 }]);
  });
});
