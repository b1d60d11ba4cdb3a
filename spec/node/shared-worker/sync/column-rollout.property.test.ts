/**
 * Outside-tester property for issue 14 end to end: 3 durable peers with the real sync
 * coordinator over in-memory links run one migration list (ADD COLUMN, then a step that DROPs a
 * column and ADDs another, then the dropped column added back) and start at random versions;
 * random writes to whatever columns each has, links going up and down between random pairs (so
 * cells travel late and through peers that lack their column), reloads onto a newer list and
 * crashes. Once everyone is on the last version and linked, every peer's tables equal an oracle
 * replica that had every column from the start and took each acknowledged write at once: no cell
 * is lost, whichever peers it passed through. No error but SCHEMA is raised.
 * Seeded: FC_SEED replays a failure; FC_RUNS raises the run count (25 by default, for the CI's
 * time budget).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CLOCK_DRIFT_MS } from '../../../../shared-worker/protocol/clock-drift.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { nodeIdOf, roomFor, ticks } from './helpers.js';
import { TriangleLinks } from './triangle-links.js';
import { errorsOf, makeNode, type TestNode } from './net.js';

const SEED = Number(process.env.FC_SEED ?? 20261209);
const RUNS = Number(process.env.FC_RUNS ?? 25);

const LIST = [
  'CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT); CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)',
  'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
  "ALTER TABLE notes DROP COLUMN body; ALTER TABLE notes ADD COLUMN \"the color\" TEXT DEFAULT 'none'",
  'ALTER TABLE notes ADD COLUMN body TEXT',
];
/** Non-key columns of notes after each version (index = version). */
const COLUMNS = [[], ['body'], ['body', 'pinned'], ['pinned', 'the color'], ['pinned', 'the color', 'body']];
const FINAL = COLUMNS[LIST.length]!;

type Peer = TestNode<DurableReplicaHandle> & { data: Map<string, unknown>; nodeId: string; version: number };

async function openPeer(keys: RoomKeys, version: number, nodeId: string, data = new Map<string, unknown>()): Promise<Peer> {
  const replica = await openDurableReplica({
    store: new MemoryKeyValueStore({ data }),
    createReplica: (o) => createReplica({ ...o, nodeId }),
    warn: () => {},
  });
  await replica.migrate(LIST.slice(0, version));
  for (const t of ['notes', 'tags']) await replica.enableSync(t);
  return Object.assign(makeNode(`p-${nodeId}`, replica, keys), { data, nodeId, version });
}

type Cmd =
  | { k: 'write'; node: number; key: number; pick: number[]; value: number }
  | { k: 'tag'; node: number; key: number; value: number }
  | { k: 'delete'; node: number; key: number }
  | { k: 'toggle'; pair: number }
  | { k: 'upgrade'; node: number }
  | { k: 'crash'; node: number }
  | { k: 'wait'; ticks: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 7, arbitrary: fc.record({ k: fc.constant('write' as const), node: fc.nat(2), key: fc.nat(3), pick: fc.array(fc.nat(2), { minLength: 1, maxLength: 2 }), value: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('tag' as const), node: fc.nat(2), key: fc.nat(2), value: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), node: fc.nat(2), key: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('toggle' as const), pair: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('upgrade' as const), node: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('crash' as const), node: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('wait' as const), ticks: fc.nat(10) }) },
);

const q = (c: string) => `"${c}"`;

let keys: RoomKeys;
beforeAll(async () => {
  keys = (await roomFor('column rollout property')).keys;
});

let run = 0;

describe('ADD/DROP COLUMN roll out under random writes, links, upgrades and crashes', () => {
  it(`3 peers end equal to an oracle that heard every acknowledged write (seed ${SEED}, ${RUNS} runs; FC_SEED / FC_RUNS)`, async () => {
    console.log(`column-rollout property seed: ${SEED}`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: LIST.length }), { minLength: 3, maxLength: 3 }), fc.array(cmd, { minLength: 5, maxLength: 40 }), async (versions, cmds) => {
        run++;
        const peers: Peer[] = [];
        for (let i = 0; i < 3; i++) peers.push(await openPeer(keys, versions[i]!, nodeIdOf(900_000 + run * 10 + i)));
        // Every column from the start, each added by ALTER as the peers add it (same defaults).
        const oracle: Replica = await createReplica({ nodeId: 'e0000000000000ff', maxClockDriftMs: MAX_CLOCK_DRIFT_MS });
        oracle.exec(LIST[0]!);
        oracle.exec(LIST[1]!);
        oracle.exec("ALTER TABLE notes ADD COLUMN \"the color\" TEXT DEFAULT 'none'");
        for (const t of ['notes', 'tags']) oracle.enableSync(t);
        const hear = (p: Peer) => oracle.applyChanges(p.replica.changesSince(oracle.getVector()));

        const links = new TriangleLinks(peers);
        const errors: string[] = [];
        const reopened = (i: number, next: Peer) => {
          errors.push(...errorsOf(peers[i]!).map((e) => `${e.code}: ${e.message}`));
          peers[i] = next;
          links.relink();
        };
        try {
          for (const c of cmds) {
            const p = c.k === 'write' || c.k === 'tag' || c.k === 'delete' || c.k === 'upgrade' || c.k === 'crash' ? peers[c.node]! : null;
            switch (c.k) {
              case 'write': {
                const have = COLUMNS[p!.version]!;
                const cols = [...new Set(c.pick.map((i) => have[i % have.length]!))];
                const vals = cols.map((col) => (col === 'pinned' ? c.value : `${col[0]}${c.value}`));
                await p!.replica.exec(
                  `INSERT INTO notes(id, ${cols.map(q).join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')}) ON CONFLICT(id) DO UPDATE SET ${cols.map((col) => `${q(col)} = excluded.${q(col)}`).join(', ')}`,
                  [`k${c.key}`, ...vals],
                );
                hear(p!);
                break;
              }
              case 'tag':
                await p!.replica.exec('INSERT INTO tags VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET label = excluded.label', [c.key, `t${c.value}`]);
                hear(p!);
                break;
              case 'delete':
                await p!.replica.exec('DELETE FROM notes WHERE id = ?', [`k${c.key}`]);
                hear(p!);
                break;
              case 'toggle':
                links.toggle(c.pair);
                break;
              case 'upgrade':
                if (p!.version < LIST.length) {
                  p!.sync.close();
                  await p!.replica.close();
                  reopened(c.node, await openPeer(keys, p!.version + 1, p!.nodeId, p!.data));
                }
                break;
              case 'crash':
                p!.sync.close();
                reopened(c.node, await openPeer(keys, p!.version, p!.nodeId, new Map(p!.data)));
                break;
              case 'wait':
                await ticks(c.ticks);
                break;
            }
          }
          for (let i = 0; i < 3; i++) {
            if (peers[i]!.version < LIST.length) {
              peers[i]!.sync.close();
              await peers[i]!.replica.close();
              reopened(i, await openPeer(keys, LIST.length, peers[i]!.nodeId, peers[i]!.data));
            }
          }
          links.allUp();
          const cols = ['id', ...FINAL].map(q).join(', ');
          const dump = (r: { exec(sql: string): unknown }) => r.exec(`SELECT ${cols} FROM notes ORDER BY id`);
          const want = JSON.stringify((dump(oracle) as { rows: unknown[] }).rows);
          const dumps = () => Promise.all(peers.map(async (p) => JSON.stringify(((await dump(p.replica)) as { rows: unknown[] }).rows)));
          const tags = () => Promise.all([oracle, ...peers.map((p) => p.replica)].map(async (r) => JSON.stringify(((await r.exec('SELECT * FROM tags ORDER BY id')) as { rows: unknown[] }).rows)));
          // Bounded by scheduler turns, not time, so a divergence fails (and prints) instead of hanging.
          let turns = 0;
          while (((await dumps()).some((d) => d !== want) || new Set(await tags()).size !== 1) && turns++ < 2_000) await ticks(1);
          expect(await dumps()).toEqual([want, want, want]);
          expect(new Set(await tags()).size).toBe(1);
          for (const p of peers) errors.push(...errorsOf(p).map((e) => `${e.code}: ${e.message}`));
          expect(errors.filter((e) => !e.startsWith('SCHEMA'))).toEqual([]);
        } finally {
          for (const p of peers) p.sync.close();
          oracle.close();
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000); // generous: the machine is shared; no timing is asserted
});
