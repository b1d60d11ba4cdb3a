/**
 * Who wins, not only whether replicas agree: three replicas with hand-moved clocks (equal times
 * across nodes force (hlc, node) ties, backwards jumps test the HLC) make conflicting writes and
 * exchange deltas at random; after every step each replica's table must equal a small model of the
 * merge rules (README "How merging works"):
 *   - a row has a put, a delete and one register per cell; each register keeps the greatest
 *     (hlc, nodeId) it has seen (LWW), whatever the order of arrival;
 *   - an INSERT of a key not visible stamps put and every cell (unnamed cells NULL); an UPDATE
 *     that changes a cell stamps that cell and put; a DELETE stamps del;
 *   - a row is visible iff put > del: a write after a delete brings the row back (resurrection),
 *     with the cells not written since keeping the values they had.
 * The stamp of each exec is read from the replica's vector. Seeded: FC_SEED replays a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica, SqlValue } from '../../../../shared-worker/replica/contracts/replica-types.js';

const SEED = Number(process.env.FC_SEED ?? 20261207);
const RUNS = Number(process.env.FC_RUNS ?? 300);
const NODES = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'];
// Two keys: writes, deletes and re-inserts of one row collide often.
const KEYS = ['k0', 'k1'];
const COLS = ['a', 'b'] as const;
const DDL = 'CREATE TABLE kv (id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER)';

type Stamp = [hlc: number, node: string];
type Reg = { s: Stamp; v: SqlValue } | null;
interface ModelRow { put: Stamp | null; del: Stamp | null; cells: Record<string, Reg> }
type Model = Map<string, ModelRow>;

const newer = (x: Stamp, y: Stamp | null) => y === null || x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
const visible = (r: ModelRow | undefined) => !!r && r.put !== null && (r.del === null || newer(r.put, r.del));

function join(into: Model, from: Model): void {
  for (const [k, r] of from) {
    const cur = into.get(k) ?? { put: null, del: null, cells: {} };
    if (r.put && newer(r.put, cur.put)) cur.put = r.put;
    if (r.del && newer(r.del, cur.del)) cur.del = r.del;
    for (const c of COLS) {
      const reg = r.cells[c];
      if (reg && newer(reg.s, cur.cells[c]?.s ?? null)) cur.cells[c] = reg;
    }
    into.set(k, cur);
  }
}

function clone(m: Model): Model {
  const out: Model = new Map();
  join(out, m);
  return out;
}

function rowsOf(m: Model): Array<Record<string, SqlValue>> {
  return [...m].filter(([, r]) => visible(r)).sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([id, r]) => ({ id, a: r.cells.a?.v ?? null, b: r.cells.b?.v ?? null }));
}

type Cmd =
  | { k: 'set'; r: number; key: string; col: 'a' | 'b'; v: SqlValue }
  | { k: 'insert'; r: number; key: string; a: SqlValue }
  | { k: 'del'; r: number; key: string }
  | { k: 'clock'; r: number; to: number }
  | { k: 'send'; from: number; to: number };

const replicaIdx = fc.integer({ min: 0, max: 2 });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  // Values of each column's own type (TEXT a, INTEGER b), so affinity leaves them as they are.
  { weight: 2, arbitrary: fc.record({ k: fc.constant('set' as const), r: replicaIdx, key: fc.constantFrom(...KEYS), col: fc.constant('a' as const), v: fc.constantFrom<SqlValue>('x', 'y', null) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('set' as const), r: replicaIdx, key: fc.constantFrom(...KEYS), col: fc.constant('b' as const), v: fc.constantFrom<SqlValue>(1, 2, null) }) },
  fc.record({ k: fc.constant('insert' as const), r: replicaIdx, key: fc.constantFrom(...KEYS), a: fc.constantFrom<SqlValue>('p', 'q') }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant('del' as const), r: replicaIdx, key: fc.constantFrom(...KEYS) }) },
  // Few distinct times: replicas often share a millisecond, so stamps tie on hlc and node decides.
  { weight: 2, arbitrary: fc.record({ k: fc.constant('clock' as const), r: replicaIdx, to: fc.constantFrom(1_000, 1_001, 1_002, 5_000) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('send' as const), from: replicaIdx, to: replicaIdx }) },
);

interface Peer { r: Replica; clock: { t: number }; model: Model }

/** The registers an exec stamps, given what the replica showed before it (the model says what that was). */
function localEffect(p: Peer, cmd: Cmd, s: Stamp): void {
  if (cmd.k !== 'set' && cmd.k !== 'insert' && cmd.k !== 'del') return;
  const row = p.model.get(cmd.key);
  const shown = visible(row);
  const r = row ?? { put: null, del: null, cells: {} };
  if (cmd.k === 'del') {
    if (shown) r.del = s;
  } else if (!shown) {
    // INSERT (an upsert of a key not shown is one too): put and every cell; del stays (put is newer).
    const values: Record<string, SqlValue> = cmd.k === 'set' ? { a: null, b: null, [cmd.col]: cmd.v } : { a: cmd.a, b: null };
    r.put = s;
    for (const c of COLS) r.cells[c] = { s, v: values[c] ?? null };
  } else if (cmd.k === 'set') {
    const cur = r.cells[cmd.col]?.v ?? null;
    if (cur !== cmd.v) {
      r.put = s;
      r.cells[cmd.col] = { s, v: cmd.v };
    }
  }
  // An INSERT OR IGNORE of a shown key changes nothing.
  p.model.set(cmd.key, r);
}

function sqlOf(cmd: Cmd): [string, SqlValue[]] {
  switch (cmd.k) {
    case 'set': return [`INSERT INTO kv (id, ${cmd.col}) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET ${cmd.col} = excluded.${cmd.col}`, [cmd.key, cmd.v]];
    case 'insert': return ['INSERT OR IGNORE INTO kv (id, a) VALUES (?, ?)', [cmd.key, cmd.a]];
    case 'del': return ['DELETE FROM kv WHERE id = ?', [cmd.key]];
    default: throw new Error('not a write');
  }
}

describe('convergence: who wins, against a model of the merge rules', () => {
  it(`LWW by (hlc, nodeId), deletes and resurrection match the model after every step (seed ${SEED}, ${RUNS} cases)`, async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 25 }), async (cmds) => {
        cases++;
        const peers: Peer[] = [];
        for (const nodeId of NODES) {
          const clock = { t: 1_000 };
          const r = await createReplica({ nodeId, now: () => clock.t });
          r.exec(DDL);
          r.enableSync('kv');
          peers.push({ r, clock, model: new Map() });
        }
        try {
          const trail: string[] = [];
          for (const cmd of cmds) {
            trail.push(JSON.stringify(cmd));
            if (cmd.k === 'clock') {
              peers[cmd.r]!.clock.t = cmd.to;
              continue;
            }
            if (cmd.k === 'send') {
              if (cmd.from === cmd.to) continue;
              const [from, to] = [peers[cmd.from]!, peers[cmd.to]!];
              to.r.applyChanges(from.r.changesSince(to.r.getVector()));
              join(to.model, clone(from.model));
            } else {
              const p = peers[cmd.r]!;
              const [sql, params] = sqlOf(cmd);
              p.r.exec(sql, params);
              localEffect(p, cmd, [p.r.getVector()[p.r.nodeId] ?? 0, p.r.nodeId]);
            }
            for (const [i, p] of peers.entries()) {
              expect(p.r.exec('SELECT id, a, b FROM kv ORDER BY id').rows, `replica ${i} after\n${trail.join('\n')}`).toEqual(rowsOf(p.model));
            }
          }
          // A full exchange: every replica shows the join of all models.
          for (let round = 0; round < 2; round++) for (const a of peers) for (const b of peers) if (a !== b) a.r.applyChanges(b.r.changesSince(a.r.getVector()));
          const all: Model = new Map();
          for (const p of peers) join(all, p.model);
          for (const p of peers) expect(p.r.exec('SELECT id, a, b FROM kv ORDER BY id').rows).toEqual(rowsOf(all));
        } finally {
          for (const p of peers) p.r.close();
        }
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        reporter: (out) => {
          if (out.failed) throw new Error(`${fc.defaultReportMessage(out)}\n${String(out.errorInstance)}\nreplay: FC_SEED=${SEED}`);
        },
      },
    );
    expect(cases).toBeGreaterThanOrEqual(RUNS);
  }, 600_000); // generous: the machine is shared; no timing is asserted
});
