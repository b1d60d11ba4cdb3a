/**
 * Issue 11, finding 2 on the real replica: it never admits more node ids than a hello may carry
 * (MAX_VECTOR_ENTRIES), so its vector stays acceptable to honest peers.
 */
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
  it(`11 batches of 10k invented node ids: the batch crossing ${MAX_VECTOR_ENTRIES} is refused whole, the vector stays within a hello`, async () => {
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
    r.close();
  }, 300_000); // a hang guard: 90k rows through sql.js take a while on a loaded machine
});
