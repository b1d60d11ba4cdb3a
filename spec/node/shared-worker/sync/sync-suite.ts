/**
 * The sync behaviour suite, run over every replica kit (sync.test.ts): convergence both ways,
 * forwarding along a line, catch-up after being offline, schema mismatch, hostile peers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { connect, errorsOf, makeNode, readyCount, syncedFrom, type TestNode } from './net.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import type { KitReplica, ReplicaKit } from './replica-kit.js';
import { openRoguePeer } from './rogue-peer.js';
import { PROTOCOL_VERSION } from '../../../../shared-worker/sync/peer-protocol.js';
import { createSigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { signChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';

type KitNode = TestNode & { kit: KitReplica };

const TABLES = { notes: ['body', 'n'], tags: ['label'] };

export function syncSuite(kit: ReplicaKit): void {
  describe(`sync over ${kit.name}`, () => {
    let keys: RoomKeys;
    let seq = 0;
    beforeAll(async () => {
      keys = (await roomFor('sync suite token')).keys;
    });

    async function node(tables: Record<string, string[]> = TABLES): Promise<KitNode> {
      const k = await kit.create(nodeIdOf(++seq), tables);
      return Object.assign(makeNode(`n${seq}`, k.replica, keys), { kit: k });
    }

    async function converged(nodes: KitNode[], tables = Object.keys(TABLES)): Promise<void> {
      for (;;) {
        const dumps = await Promise.all(nodes.map(async (n) => JSON.stringify(await Promise.all(tables.map((t) => n.kit.dump(t))))));
        if (dumps.every((d) => d === dumps[0])) return;
        await ticks(2);
      }
    }

    it('two peers sync both ways, with peer-ready and sync events', async () => {
      const a = await node();
      const b = await node();
      await a.kit.upsert('notes', [['a1', { body: 'from a', n: 1 }], ['a2', { body: 'x', n: 2 }]]);
      await b.kit.upsert('notes', [['b1', { body: 'from b', n: 3 }]]);
      await b.kit.upsert('tags', [['t1', { label: 'blue' }]]);
      connect(a, b);
      await until(() => readyCount(a, b) === 1 && readyCount(b, a) === 1);
      await converged([a, b]);
      expect(await a.kit.dump('notes')).toHaveLength(3);
      expect(await a.kit.dump('tags')).toEqual([JSON.stringify(['t1', 'blue'])]);
      expect(syncedFrom(a, b)).toBeGreaterThan(0);
      expect(syncedFrom(b, a)).toBeGreaterThan(0);
      // Live: a write after the link is up travels too, deletes included.
      await b.kit.remove('notes', ['a1']);
      await a.kit.upsert('notes', [['a3', { body: 'later', n: 4 }]]);
      await converged([a, b]);
      expect((await a.kit.dump('notes')).map((l) => JSON.parse(l)[0])).toEqual(['a2', 'a3', 'b1']);
      expect(a.sync.peers()).toEqual([b.peerId]);
      expect(errorsOf(a)).toEqual([]);
      expect(errorsOf(b)).toEqual([]);
    });

    it('three peers in a line A–B–C converge by forwarding', async () => {
      const [a, b, c] = [await node(), await node(), await node()];
      await a.kit.upsert('notes', [['early-a', { body: 'a', n: 1 }]]);
      await c.kit.upsert('notes', [['early-c', { body: 'c', n: 1 }]]);
      connect(a, b);
      connect(b, c);
      await converged([a, b, c]);
      for (let i = 0; i < 5; i++) {
        await a.kit.upsert('notes', [[`a${i}`, { body: 'live from a', n: i }]]);
        await c.kit.upsert('tags', [[`c${i}`, { label: 'live from c' }]]);
      }
      await converged([a, b, c]);
      expect(await a.kit.dump('tags')).toHaveLength(5);
      expect(await c.kit.dump('notes')).toHaveLength(7);
      expect([...errorsOf(a), ...errorsOf(b), ...errorsOf(c)]).toEqual([]);
    });

    it('a peer offline and back receives only what it missed', async () => {
      const a = await node();
      const b = await node();
      const rows = Array.from({ length: 200 }, (_, i) => [`r${i}`, { body: 'old', n: i }] as [string, { body: string; n: number }]);
      await a.kit.upsert('notes', rows);
      const first = connect(a, b);
      await converged([a, b]);
      await until(() => a.replica.getPeerVector(b.replica.nodeId) !== undefined);
      first.close();
      await until(() => a.events.some((e) => e.type === 'peer-leave'));
      const before = b.kit.received();
      // While b is away: 3 new rows of 2 cells and one changed cell.
      await a.kit.upsert('notes', [['new1', { body: 'n', n: 1 }], ['new2', { body: 'n', n: 2 }], ['new3', { body: 'n', n: 3 }]]);
      await a.kit.upsert('notes', [['r7', { body: 'changed', n: 7 }]]);
      connect(b, a);
      await converged([a, b]);
      await ticks();
      const received = b.kit.received() - before;
      // 3 × (put + 2 cells) for the new rows, and the update of r7 (put + the changed cells).
      expect(received).toBeGreaterThanOrEqual(9 + 2);
      expect(received).toBeLessThanOrEqual(9 + 3);
      expect(a.kit.received()).toBe(0);
    });

    it('a delta cut off after its first piece loses nothing: the reconnect sends the rest', async () => {
      const k = await kit.create(nodeIdOf(++seq), TABLES);
      const a = Object.assign(makeNode(`n${seq}`, k.replica, keys, { options: { pieceRows: 1 } }), { kit: k });
      // row1 written early and updated late, row2 in between: a delta in row order would carry
      // the late update first, and a receiver cut off there would claim to hold row2 already.
      await a.kit.upsert('notes', [['row1', { body: 'early', n: 1 }]]);
      await a.kit.upsert('notes', [['row2', { body: 'middle', n: 2 }]]);
      await a.kit.upsert('notes', [['row1', { body: 'late', n: 1 }]]);
      const b = await node();
      let pair: ReturnType<typeof connect> | null = null;
      let applies = 0;
      const cut = (cs: { tables: unknown[] }) => {
        if (cs.tables.length > 0 && ++applies === 1) pair?.close('cut after the first piece');
      };
      // Whichever way the session applies pieces (merged, then stored; or both in one call).
      const staged = b.replica.applyChangesStaged?.bind(b.replica);
      if (staged) {
        b.replica.applyChangesStaged = async (cs, o) => {
          const r = await staged(cs, o);
          cut(cs);
          return r;
        };
      }
      const apply = b.replica.applyChanges.bind(b.replica);
      b.replica.applyChanges = async (cs, o) => {
        const r = await apply(cs, o);
        cut(cs);
        return r;
      };
      pair = connect(a, b);
      await until(() => pair!.a.closed);
      expect((await b.kit.dump('notes')).length).toBeLessThan(2);
      connect(b, a);
      await converged([a, b]);
      expect((await b.kit.dump('notes')).map((l) => JSON.parse(l)[1])).toEqual(['late', 'middle']);
    });

    it('a table whose definition differs is excluded (SCHEMA on both sides), the other syncs', async () => {
      const a = await node({ notes: ['body', 'n'], tags: ['label'] });
      const b = await node({ notes: ['body', 'n'], tags: ['label:INTEGER', 'color'] });
      await a.kit.upsert('tags', [['t', { label: 'only a' }]]);
      await b.kit.upsert('tags', [['u', { label: 'only b', color: 'red' }]]);
      await a.kit.upsert('notes', [['shared', { body: 'synced', n: 1 }]]);
      connect(a, b);
      await until(() => errorsOf(a, 'SCHEMA').length === 1 && errorsOf(b, 'SCHEMA').length === 1);
      await converged([a, b], ['notes']);
      expect(errorsOf(a, 'SCHEMA')[0]).toMatchObject({ peerId: b.peerId, detail: { tables: ['tags'] } });
      expect(errorsOf(b, 'SCHEMA')[0]).toMatchObject({ peerId: a.peerId, detail: { tables: ['tags'] } });
      await a.kit.upsert('tags', [['t2', { label: 'still only a' }]]);
      await a.kit.upsert('notes', [['live', { body: 'synced', n: 2 }]]);
      await converged([a, b], ['notes']);
      expect(await b.kit.dump('tags')).toEqual([JSON.stringify(['u', 'only b', 'red'])]);
      expect(await b.kit.dump('notes')).toHaveLength(2);
    });

    it('a hostile peer that knows the room id but not the token is closed with nothing applied', async () => {
      const a = await node();
      await a.kit.upsert('notes', [['secret', { body: 's', n: 1 }]]);
      const hostileKeys = { ...(await roomFor('guessed token')).keys, roomId: keys.roomId };
      const hk = await kit.create(nodeIdOf(250), TABLES);
      const hostile = Object.assign(makeNode('hostile', hk.replica, hostileKeys), { kit: hk });
      const pair = connect(hostile, a);
      await until(() => pair.a.closed);
      await ticks();
      expect(errorsOf(a, 'AUTH').length + errorsOf(hostile, 'AUTH').length).toBeGreaterThanOrEqual(1);
      expect(await hostile.kit.dump('notes')).toEqual([]);
      expect(a.kit.received() + hostile.kit.received()).toBe(0);
      expect(a.sync.peers()).toEqual([]);
    });

    it('malformed input drops only that link; BAD_OP, SKEW and VERSION name the peer and apply nothing', async () => {
      const a = await node();
      const c = await node();
      connect(a, c);
      await until(() => readyCount(a, c) === 1);
      // A member's own signed set: it passes the signature check, so what is tested is the apply.
      const member = await createSigningIdentity();
      const signedLive = async (r: Awaited<ReturnType<typeof openRoguePeer>>, changes: (node: string) => ChangeSet) =>
        r.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [await signChangeSet(member, changes(member.nodeId))] });
      const cases: Array<[code: string, send: (r: Awaited<ReturnType<typeof openRoguePeer>>) => Promise<void>]> = [
        ['BAD_OP', (r) => r.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: ['x'], put: [1, 5], del: null, cells: [] }] }] } })],
        ['BAD_OP', (r) => r.sendRawFrame(new Uint8Array(70_000))],
        // 3000 nested array headers of 65535 elements each in 9 KB (see msgpack-guard.ts).
        ['BAD_OP', (r) => r.sendPlaintext(new Uint8Array(9000).map((_, i) => [0xdc, 0xff, 0xff][i % 3]!))],
        ['AUTH', (r) => r.sendRawFrame(new Uint8Array(100).fill(0).map((_, i) => (i < 12 ? [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1][i]! : i)))],
        // One stamp per set (each read of the clock once: a millisecond tick between two reads made two stamps).
        ['SKEW', (r) => signedLive(r, (n, hlc = kit.hlcAt(Date.now() + 3_600_000)) => ({ nodes: [n], tables: [{ table: 'notes', columns: ['body', 'n'], rows: [{ pk: ['future'], put: [hlc, 0], del: null, cells: [[0, 'from the future', hlc, 0]] }] }] }))],
        ['BAD_OP', (r) => signedLive(r, (n, hlc = kit.hlcAt(Date.now())) => ({ nodes: [n], tables: [{ table: 'notes', columns: ['id'], rows: [{ pk: ['y'], put: [hlc, 0], del: null, cells: [[0, 'v', hlc, 0]] }] }] }))],
        ['BAD_OP', (r) => r.send({ t: 'hello', protocol: PROTOCOL_VERSION, nodeId: 'ffffffffffffffff', fingerprints: {}, vector: {} }, { skipHello: true })],
        ['BAD_OP', (r) => r.send({ t: 'need', since: {} }, { skipHello: true })],
        // A need before acknowledging the answer to its hello (this rogue never acks).
        ['BAD_OP', (r) => r.send({ t: 'need', since: {} })],
        ['VERSION', (r) => r.send({ t: 'hello', protocol: PROTOCOL_VERSION + 1, nodeId: r.nodeId, fingerprints: {}, vector: {} }, { skipHello: true })],
      ];
      let i = 0;
      for (const [code, send] of cases) {
        const rogue = await openRoguePeer(a, keys, nodeIdOf(240 + i++), kit);
        await send(rogue);
        await until(() => rogue.closed());
        const errs = errorsOf(a).filter((e) => e.peerId === rogue.peerId);
        expect(errs.map((e) => e.code)).toEqual([code]);
      }
      expect(await a.kit.dump('notes')).toEqual([]);
      // The honest link is untouched.
      await a.kit.upsert('notes', [['after', { body: 'still syncing', n: 1 }]]);
      await converged([a, c]);
      expect(a.sync.peers()).toEqual([c.peerId]);
    });
  });
}
