/**
 * Replica.exportInSlices: the file it yields must be the database exactly as of the step that
 * completed the copy, whatever was written between steps (inserts that grow the file, updates,
 * deletes, growth past the cursor's buffer), and nothing written after that step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { dump, registers } from './replica-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);

async function filled(rows: number): Promise<Replica> {
  const r = await createReplica({ nodeId: 'eeeeeeeeeeeeeee1' });
  r.exec('CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, body BLOB, n INTEGER); CREATE TABLE notes(k INTEGER PRIMARY KEY, t TEXT)');
  r.enableSync('items');
  r.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows})
    INSERT INTO items SELECT printf('seed-%06d', i), randomblob(900), i FROM c`);
  return r;
}

type Write = { kind: 'insert' | 'update' | 'delete' | 'local' | 'grow'; i: number };
const write = fc.record({ kind: fc.constantFrom('insert', 'update', 'delete', 'local', 'grow'), i: fc.nat(1199) }) as fc.Arbitrary<Write>;

function apply(r: Replica, w: Write, n: number): void {
  if (w.kind === 'insert') r.exec('INSERT OR REPLACE INTO items VALUES (?, randomblob(500), ?)', [`w-${n}`, n]);
  if (w.kind === 'update') r.exec('UPDATE items SET n = n + 1000 WHERE id = ?', [`seed-${String(w.i + 1).padStart(6, '0')}`]);
  if (w.kind === 'delete') r.exec('DELETE FROM items WHERE id = ?', [`seed-${String(w.i + 1).padStart(6, '0')}`]);
  if (w.kind === 'local') r.exec('INSERT OR REPLACE INTO notes VALUES (?, ?)', [w.i, `note ${n}`]);
  // ~2.5 MB at once: past the cursor's spare room (1/8 of a ~1.3 MB file, at least 1 MB).
  if (w.kind === 'grow') r.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2500)
    INSERT OR REPLACE INTO items SELECT printf('g-%d-%d', ${n}, i), randomblob(1000), i FROM c`);
}

describe('Replica.exportInSlices', () => {
  it('yields the database as of the step that completed the copy, with writes between steps', async () => {
    console.log(`export-cursor seed ${SEED}`);
    await fc.assert(
      fc.asyncProperty(fc.array(write, { maxLength: 40 }), fc.integer({ min: 8, max: 200 }), async (writes, pages) => {
        const r = await filled(1200);
        try {
          const cursor = r.exportInSlices();
          let n = 0;
          let done = false;
          while (!done) {
            done = cursor.step(pages);
            if (!done && n < writes.length) apply(r, writes[n]!, n++);
          }
          const expected = [dump(r, ['items']), registers(r), JSON.stringify(r.execLocal('SELECT * FROM notes ORDER BY k').rows)];
          r.exec('INSERT INTO items VALUES (?, NULL, 0)', ['after-the-copy']);
          const copy = await createReplica({ data: cursor.result() });
          try {
            expect([dump(copy, ['items']), registers(copy), JSON.stringify(copy.execLocal('SELECT * FROM notes ORDER BY k').rows)]).toEqual(expected);
          } finally {
            copy.close();
          }
        } finally {
          r.close();
        }
      }),
      { seed: SEED, numRuns: 10 },
    );
  }, 300_000);

  it('can be aborted, and the replica goes on working and exporting', async () => {
    const r = await filled(500);
    try {
      const cursor = r.exportInSlices();
      expect(cursor.step(4)).toBe(false);
      cursor.abort();
      expect(() => cursor.result()).toThrow();
      r.exec('INSERT INTO items VALUES (?, NULL, 0)', ['x']);
      const copy = await createReplica({ data: r.export() });
      expect(dump(copy, ['items'])).toBe(dump(r, ['items']));
      copy.close();
    } finally {
      r.close();
    }
  });
});
