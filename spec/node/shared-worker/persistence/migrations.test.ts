/**
 * Versioned migrations through the durable replica: each step once, in one transaction, its
 * version stored with the data; reopen after each step (clean and after a crash mid-migration)
 * shows what was acknowledged; an older list or a failing step is a SCHEMA error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { armCrash } from './durable-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);

const STEPS = [
  "CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, body TEXT); INSERT INTO notes VALUES ('n1', 'first')",
  // enableSync is a call, not SQL: steps after it are applied on the synced table.
  'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
  "UPDATE notes SET pinned = 1 WHERE id = 'n1'",
  'ALTER TABLE notes ADD COLUMN color TEXT',
  'ALTER TABLE notes DROP COLUMN color',
  "INSERT INTO notes(id, body) VALUES ('n2', 'second')",
];

function open(store: KeyValueStore): Promise<DurableReplicaHandle> {
  return openDurableReplica({ store, createReplica: (o) => createReplica({ ...o, nodeId: 'aaaaaaaaaaaaaaaa' }), warn: () => {} });
}

async function rows(d: DurableReplicaHandle): Promise<unknown[]> {
  return (await d.exec('SELECT * FROM notes ORDER BY id')).rows;
}

/** What the table holds after the first `n` steps, by running them on a fresh replica. */
async function expected(n: number): Promise<unknown[] | null> {
  if (n === 0) return null;
  const d = await open(new MemoryKeyValueStore());
  await d.migrate(STEPS.slice(0, 1));
  await d.enableSync('notes');
  await d.migrate(STEPS.slice(0, n));
  const out = await rows(d);
  await d.close();
  return out;
}

describe('migrations', () => {
  it('apply once per replica, in order; the version is stored with the data and survives reopen after each step', async () => {
    const data = new Map<string, unknown>();
    let d = await open(new MemoryKeyValueStore({ data }));
    expect(d.getSchemaVersion()).toBe(0);
    expect(await d.migrate(STEPS.slice(0, 1))).toEqual({ from: 0, to: 1 });
    await d.enableSync('notes');
    for (let n = 2; n <= STEPS.length; n++) {
      expect(await d.migrate(STEPS.slice(0, n))).toEqual({ from: n - 1, to: n });
      await d.close();
      d = await open(new MemoryKeyValueStore({ data }));
      expect(d.getSchemaVersion()).toBe(n);
      expect(await rows(d)).toEqual(await expected(n));
      // Applying the same list again changes nothing.
      expect(await d.migrate(STEPS.slice(0, n))).toEqual({ from: n, to: n });
      expect(await rows(d)).toEqual(await expected(n));
    }
    expect(await rows(d)).toEqual([{ id: 'n1', body: 'first', pinned: 1 }, { id: 'n2', body: 'second', pinned: 0 }]);
    await d.close();
  });

  it('an app with fewer steps than the replica has applied gets SCHEMA naming both versions, and changes nothing', async () => {
    const d = await open(new MemoryKeyValueStore());
    await d.migrate(STEPS.slice(0, 3));
    await expect(d.migrate(STEPS.slice(0, 2))).rejects.toMatchObject({
      code: 'SCHEMA',
      message: expect.stringMatching(/defines 2 migration\(s\) but the database is at schema version 3/),
      detail: { appVersion: 2, schemaVersion: 3 },
    });
    expect(d.getSchemaVersion()).toBe(3);
  });

  it('a failing step rolls back and reports SCHEMA with its index and SQLite\'s message; earlier steps stay applied', async () => {
    const data = new Map<string, unknown>();
    const d = await open(new MemoryKeyValueStore({ data }));
    const steps = [STEPS[0]!, "INSERT INTO notes VALUES ('n3', 'x'); INSERT INTO nosuch VALUES (1)", STEPS[1]!];
    await expect(d.migrate(steps)).rejects.toMatchObject({
      code: 'SCHEMA',
      message: expect.stringMatching(/^migration 1 \(step 2\) failed and was rolled back: .*no such table: nosuch/),
      detail: { step: 1, schemaVersion: 1 },
    });
    expect(d.getSchemaVersion()).toBe(1);
    expect(await rows(d)).toEqual([{ id: 'n1', body: 'first' }]);
    await d.close();
    const again = await open(new MemoryKeyValueStore({ data }));
    expect(again.getSchemaVersion()).toBe(1);
    expect(await rows(again)).toEqual([{ id: 'n1', body: 'first' }]);
    // Fixed step: the list goes on from where it stopped.
    expect(await again.migrate([STEPS[0]!, "INSERT INTO notes VALUES ('n3', 'x')", STEPS[1]!])).toEqual({ from: 1, to: 3 });
    expect(await rows(again)).toEqual([{ id: 'n1', body: 'first', pinned: 0 }, { id: 'n3', body: 'x', pinned: 0 }]);
  });

  it('a step storage refuses: by the time migrate rejects, memory holds what storage holds (version, rows), and the next migrate goes on from there one step per write', async () => {
    const store = new MemoryKeyValueStore();
    const d = await open(store);
    await d.migrate(STEPS.slice(0, 1));
    await d.enableSync('notes');
    // Step 2 is an ADD COLUMN (a log entry), step 3 writes a row.
    for (const n of [2, 3]) {
      store.failNextWrites(1);
      await expect(d.migrate(STEPS.slice(0, n + 1))).rejects.toMatchObject({ code: 'QUOTA' });
      // Read at once, with nothing awaited in between: memory was rolled back before the rejection.
      expect(d.getSchemaVersion()).toBe(n - 1);
      expect(d.readNow!('SELECT * FROM notes ORDER BY id').rows).toEqual(await expected(n - 1));
      const writes = store.writeCount;
      expect(await d.migrate(STEPS.slice(0, n))).toEqual({ from: n - 1, to: n });
      expect(store.writeCount - writes).toBe(1);
    }
    expect(await rows(d)).toEqual(await expected(3));
    await d.close();
  });

  it('a crash at any storage write during a migration reopens at an acknowledged step (property)', async () => {
    console.log(`migrations crash property: FC_SEED=${SEED}`);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 14 }), async (crashAfter) => {
        const data = new Map<string, unknown>();
        const store = new MemoryKeyValueStore({ data });
        const d = await open(store);
        await d.migrate(STEPS.slice(0, 1));
        await d.enableSync('notes');
        const crash = armCrash(store, crashAfter);
        let acknowledged = 1;
        const run = (async () => {
          for (let n = 2; n <= STEPS.length; n++) {
            await d.migrate(STEPS.slice(0, n));
            acknowledged = n;
          }
        })();
        await crash.doneOrDead(run);
        // The crashed instance is abandoned; a new one opens what storage holds.
        const again = await open(new MemoryKeyValueStore({ data }));
        const v = again.getSchemaVersion();
        expect(v).toBeGreaterThanOrEqual(acknowledged);
        expect(await rows(again)).toEqual(await expected(v));
        // ...and finishing the migration from there ends where an uninterrupted one does.
        await again.migrate(STEPS);
        expect(await rows(again)).toEqual(await expected(STEPS.length));
        await again.close();
      }),
      { seed: SEED, numRuns: 15 },
    );
  });
});
