/**
 * Issue 11, finding 2 on the real replica: it never admits more node ids than a hello may carry
 * (MAX_VECTOR_ENTRIES), so its vector stays acceptable to honest peers.
 */
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { MAX_VECTOR_ENTRIES } from '../../../../shared-worker/protocol/limits.js';
import { syncedReplica } from './replica-helpers.js';

const NOW = 1_700_000_000_000;
const H = hlcFromMs(NOW - 1_000);

/** `ids` invented node ids, one key-only row stamped by each (what raises one vector entry per id). */
function bloat(batch: number, ids: number): ChangeSet {
  const nodes = Array.from({ length: ids }, (_, i) => `f${batch.toString(16).padStart(5, '0')}${i.toString(16).padStart(10, '0')}`);
  return { nodes, tables: [{ table: 'items', columns: [], rows: nodes.map((_, i) => ({ pk: [`b${batch}-${i}`], put: [H + i, i] as [number, number], del: null, cells: [] })) }] };
}

describe('node id cap', () => {
  it(`11 batches of 10k invented node ids: the batch crossing ${MAX_VECTOR_ENTRIES} is refused whole, the vector (and the known authors) stay within a hello`, async () => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa', undefined, undefined, NOW);
    r.exec("INSERT INTO items(id, title) VALUES ('mine', 'x')");
    const outcomes: string[] = [];
    for (let b = 0; b < 11; b++) {
      try {
        r.applyChanges(bloat(b, 10_000));
        outcomes.push('applied');
      } catch (e) {
        outcomes.push(`${(e as { code: string }).code} ${JSON.stringify((e as { detail?: unknown }).detail)}`);
      }
    }
    // 1 own id + 9 x 10k fit; the 10th batch would make 100 001.
    expect(outcomes).toEqual([...new Array<string>(9).fill('applied'), 'BAD_OP {"limit":"nodes"}', 'BAD_OP {"limit":"nodes"}']);
    expect(Object.keys(r.getVector()).length).toBe(90_001);
    expect(Number(r.execLocal('SELECT count(*) AS n FROM items').rows[0]!.n)).toBe(90_001); // nothing of a refused batch
    // Known ids still apply: the cap counts admissions, not batches.
    r.applyChanges({ ...bloat(0, 1), tables: [{ table: 'items', columns: [], rows: [{ pk: ['again'], put: [H + 5, 0], del: null, cells: [] }] }] });

    // Known authors (known-authors.ts) are admitted nodes: at the cap, no body adds one more.
    r.applyChanges(bloat(20, MAX_VECTOR_ENTRIES - 90_001));
    expect(Object.keys(r.getVector()).length).toBe(MAX_VECTOR_ENTRIES);
    const admitted = bloat(0, 1).nodes[0]!;
    const outsider = 'e0000000000000ff';
    const signedRow = (node: string, pk: string, hlc: number): ChangeSet => ({ nodes: [node], tables: [{ table: 'items', columns: [], rows: [{ pk: [pk], put: [hlc, 0], del: null, cells: [] }] }] });
    const body = (node: string, hlc: number) => ({ node, hlc, body: new Uint8Array([1, 2, 3]) }); // the replica trusts sync's checks
    expect(() => r.applyChanges(signedRow(outsider, 'o', H + 7), { signed: [body(outsider, H + 7)] })).toThrow(/more than/);
    // Rows it would park (a table not synced here) count the same (parked-registers.ts).
    const unsynced = { nodes: [outsider], tables: [{ table: 'lists', columns: [], rows: [{ pk: ['p'], put: [H + 9, 0] as [number, number], del: null, cells: [] }] }] };
    expect(() => r.applyChanges({ nodes: [], tables: [] }, { signed: [body(outsider, H + 9)], relayed: unsynced })).toThrow(/more than/);
    // A body of a node the batch does not carry rides along with an admitted author's.
    r.applyChanges(signedRow(admitted, 's', H + 8), { signed: [body(admitted, H + 8), body(outsider, H + 8)] });
    expect(r.isKnownAuthor(admitted)).toBe(true);
    expect(r.isKnownAuthor(outsider)).toBe(false);
    expect(Object.keys(r.getVector()).length).toBe(MAX_VECTOR_ENTRIES);
    const file = new (await initSqlJs()).Database(r.export());
    expect(file.exec('SELECT count(*) FROM _rb_authors WHERE n NOT IN (SELECT n FROM _rb_nodes)')[0]!.values).toEqual([[0]]);
    file.close();
    r.close();
  }, 300_000); // a hang guard: 90k rows through sql.js take a while on a loaded machine
});
