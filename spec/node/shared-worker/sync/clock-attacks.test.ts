/**
 * Issue 11, finding 9, tried as a room member would over the peer protocol: no stamp a peer sends
 * can end the victim's local writing. The victim is the real replica (sql.js + durable log) at the
 * largest drift bound it accepts (24 h), on a clock past the legacy horizon, and the attacker signs
 * its sets with its own key (so they pass the authorship checks and meet the clock check alone).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { createSigningIdentity, type SigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { MAX_CLOCK_DRIFT_MS } from '../../../../shared-worker/protocol/clock-drift.js';
import { HLC_COUNTER_SPAN, hlcFromMs, hlcToMs } from '../../../../shared-worker/replica/hlc.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { LEGACY_HORIZON_HLC } from '../../../../shared-worker/sync/authored-batch.js';
import { signChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { roomFor, until } from './helpers.js';
import { errorsOf, makeNode, type TestNode } from './net.js';
import { openRoguePeer } from './rogue-peer.js';

/** The stamp just at the bound: the last counter value of the millisecond `maxClockDriftMs` ahead. */
const boundAt = (wallMs: number): number => hlcFromMs(wallMs + MAX_CLOCK_DRIFT_MS) + HLC_COUNTER_SPAN - 1;

const noteRow = (node: string, id: string, hlc: number): ChangeSet => ({
  nodes: [node],
  tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: [id], put: [hlc, 0], del: null, cells: [[0, `from ${node}`, hlc, 0]] }] }],
});
/** A deletion stamped `hlc` (the other place a stamp travels). */
const noteDelete = (node: string, id: string, hlc: number): ChangeSet => ({
  nodes: [node],
  tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: [id], put: null, del: [hlc, 0], cells: [] }] }],
});

interface Victim {
  node: TestNode<DurableReplicaHandle>;
  store: MemoryKeyValueStore;
  /** Moves the victim's wall clock. */
  wall: { ms: number };
}

describe('one remote stamp cannot end local writing', () => {
  let keys: RoomKeys;
  let attacker: SigningIdentity;
  beforeAll(async () => {
    keys = (await roomFor('clock attacks')).keys;
    attacker = await createSigningIdentity();
  });

  async function victim(): Promise<Victim> {
    const wall = { ms: LEGACY_HORIZON_HLC / HLC_COUNTER_SPAN + 10 * 86_400_000 };
    const store = new MemoryKeyValueStore();
    const replica = await openDurableReplica({
      store,
      createReplica,
      replicaOptions: { nodeId: 'c000000000000001', now: () => wall.ms, maxClockDriftMs: MAX_CLOCK_DRIFT_MS },
      warn: () => {},
    });
    await replica.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    await replica.enableSync('notes');
    return { node: makeNode('victim', replica, keys), store, wall };
  }

  /** A live batch holding one set signed by the attacker, stamped `hlc`. */
  /** A live batch of the attacker's own, chained to nothing before it (prev 0), so its entry follows. */
  async function live(id: string, hlc: number, row = noteRow): Promise<unknown> {
    return { t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [await signChangeSet(attacker, row(attacker.nodeId, id, hlc), { prev: 0, parts: 1 })] };
  }

  async function rows(v: Victim): Promise<string[]> {
    return (await v.node.replica.exec('SELECT id FROM notes ORDER BY id')).rows.map((r) => String(r.id));
  }

  /** Writes one local row and returns the stamp it got. */
  async function write(replica: DurableReplicaHandle, id: string): Promise<number> {
    await replica.exec('INSERT INTO notes VALUES (?, ?)', [id, 'local']);
    const cs = replica.changesSince({});
    const own = cs.nodes.indexOf(replica.nodeId);
    const row = cs.tables.flatMap((t) => t.rows).find((r) => r.pk[0] === id)!;
    expect(row.put![1]).toBe(own);
    return row.put![0];
  }

  it('refuses stamps at 2^53 - 1, at the clock format limit and 1 ms past the drift bound (SKEW), and local writes go on', async () => {
    const v = await victim();
    const limitMs = hlcToMs(Number.MAX_SAFE_INTEGER);
    const attempts = [Number.MAX_SAFE_INTEGER, hlcFromMs(limitMs), hlcFromMs(limitMs) - 1, boundAt(v.wall.ms) + 1, hlcFromMs(v.wall.ms + MAX_CLOCK_DRIFT_MS + 1)];
    for (const [i, hlc] of attempts.entries()) {
      const rogue = await openRoguePeer(v.node, keys, attacker.nodeId);
      await rogue.send(await live(`x${i}`, hlc));
      await until(() => rogue.closed());
      expect(errorsOf(v.node, 'SKEW').length, `stamp ${hlc}`).toBe(i + 1);
    }
    const rogue = await openRoguePeer(v.node, keys, attacker.nodeId);
    await rogue.send(await live('gone', Number.MAX_SAFE_INTEGER, noteDelete));
    await until(() => rogue.closed());
    expect(errorsOf(v.node, 'SKEW').length).toBe(attempts.length + 1);
    expect(await rows(v)).toEqual([]);
    const stamp = await write(v.node.replica, 'after');
    expect(stamp).toBeLessThan(hlcFromMs(v.wall.ms + 1));
    v.node.sync.close();
    await v.node.replica.close();
  });

  it('stamps at the drift bound, sent again and again as time passes, push the clock at most the bound ahead', async () => {
    const v = await victim();
    const rogue = await openRoguePeer(v.node, keys, attacker.nodeId);
    const start = v.wall.ms;
    // One day of attacks, one an hour, each as far ahead as the victim accepts at that moment.
    for (let hour = 0; hour <= 24; hour++) {
      v.wall.ms = start + hour * 3_600_000;
      const pushed = boundAt(v.wall.ms);
      await rogue.send(await live(`r${hour}`, pushed));
      await until(() => v.node.replica.getVector()[attacker.nodeId] === pushed);
      // Local writes count on just above the pushed stamp, never further: the push does not add up.
      const first = await write(v.node.replica, `l${hour}a`);
      const second = await write(v.node.replica, `l${hour}b`);
      expect(first).toBe(pushed + 1);
      expect(second).toBe(pushed + 2);
    }
    expect(rogue.closed()).toBe(false);
    expect(errorsOf(v.node)).toEqual([]);
    // The bound is measured from the wall clock, not from the clock the pushes moved.
    await rogue.send(await live('beyond', boundAt(v.wall.ms) + 1));
    await until(() => rogue.closed());
    expect(errorsOf(v.node).map((e) => e.code)).toEqual(['SKEW']);
    v.node.sync.close();
    await v.node.replica.close();

    // Reopened on the same wall clock, it still writes, just above what it stored.
    const reopened = await openDurableReplica({
      store: v.store.reopen(),
      createReplica,
      replicaOptions: { nodeId: 'c000000000000001', now: () => v.wall.ms, maxClockDriftMs: MAX_CLOCK_DRIFT_MS },
      warn: () => {},
    });
    expect(await write(reopened, 'reopened')).toBe(boundAt(v.wall.ms) + 3);
    await reopened.close();
  });
});
