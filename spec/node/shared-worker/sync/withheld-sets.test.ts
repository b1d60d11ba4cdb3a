/**
 * A member that forwards only some of another member's genuine signed sets must not make a
 * replica skip the rest: the vector entry for an author rises only from the author's own sets or
 * along the author's signed chain (vector-chain.ts, docs/security.md "Withheld sets").
 */
import { decode, encode } from '@msgpack/msgpack';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { DurableReplica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createSigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { signChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { durableKit } from './durable-kit.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { connect, makeNode, readyCount, type TestNode } from './net.js';
import type { KitReplica } from './replica-kit.js';
import { openRoguePeer } from './rogue-peer.js';

type KitNode = TestNode & { kit: KitReplica };

/** The order n of the P-256 group: an ECDSA signature (r, s) also verifies as (r, n - s). */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const bytesBig = (b: Uint8Array): bigint => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
const bigBytes = (n: bigint, len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => Number((n >> BigInt(8 * (len - 1 - i))) & 0xffn));

const noteRow = (node: string, id: string, body: string, hlc: number): ChangeSet => ({
  nodes: [node], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: [id], put: [hlc, 0], del: null, cells: [[0, body, hlc, 0]] }] }],
});

/** Notes of `replica` as [id, body] rows. */
async function notesOf(replica: DurableReplica): Promise<string[]> {
  return (await replica.exec('SELECT id, body FROM notes ORDER BY id')).rows.map((r) => JSON.stringify([r.id, r.body]));
}

describe('withheld signed sets', () => {
  let keys: RoomKeys;
  let seq = 0;
  beforeAll(async () => {
    keys = (await roomFor('withheld sets token')).keys;
  });

  async function node(): Promise<KitNode> {
    const k = await durableKit.create(nodeIdOf(++seq), { notes: ['body'] });
    return Object.assign(makeNode(`n${seq}`, k.replica, keys), { kit: k });
  }

  /** Links the two and waits until `receiver` holds row `id`. */
  async function settle(receiver: KitNode, victim: KitNode, id: string): Promise<void> {
    connect(victim, receiver);
    await until(() => readyCount(receiver, victim) === 1);
    for (let i = 0; i < 200 && (await receiver.kit.dump('notes')).every((r) => !r.includes(`"${id}"`)); i++) await ticks(2);
  }

  /**
   * V writes v1, then signs v2 as its next stamp (prev = v1's), which is what every member
   * receives as V's next live batch. Returns v2's hlc and body.
   */
  async function victimWithNextSet(victim: KitNode): Promise<{ h1: number; h2: number; body2: Uint8Array }> {
    await victim.kit.upsert('notes', [['v1', { body: 'first' }]]);
    const V = victim.replica.nodeId;
    const h1 = victim.replica.getVector()[V]!;
    const h2 = h1 + 1024;
    const body2 = await signChangeSet(victim.replica.identity!, noteRow(V, 'v2', 'second', h2), { prev: h1, parts: 1 });
    return { h1, h2, body2 };
  }

  it('a live batch of only the newest genuine set does not hide the earlier ones (s2-11r attack #3)', async () => {
    const victim = await node();
    const receiver = await node();
    const V = victim.replica.nodeId;
    const { h2, body2 } = await victimWithNextSet(victim);
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(901), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [body2] });
    for (let i = 0; i < 100 && !(await notesOf(receiver.replica)).some((r) => r.includes('"v2"')); i++) await ticks(2);
    // The registers are applied (LWW makes that safe) but V's entry does not move past v1.
    expect(await notesOf(receiver.replica)).toEqual([JSON.stringify(['v2', 'second'])]);
    expect(receiver.replica.getVector()[V] ?? 0).toBeLessThan(h2);
    await settle(receiver, victim, 'v1');
    expect(await notesOf(receiver.replica)).toEqual([JSON.stringify(['v1', 'first']), JSON.stringify(['v2', 'second'])]);
  });

  it('a delta answer from a relay with a gap in an author\'s chain leaves the entry below the gap', async () => {
    const victim = await node();
    const receiver = await node();
    const V = victim.replica.nodeId;
    const { h2, body2 } = await victimWithNextSet(victim);
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(902), durableKit);
    // The receiver's hello asks for a delta; the rogue answers with V's newest set only and
    // claims (upTo) to have sent everything of V up to it.
    await rogue.send({ t: 'hello', protocol: 4, nodeId: rogue.nodeId, fingerprints: receiver.replica.fingerprints(), vector: {} }, { skipHello: true });
    await rogue.send({ t: 'delta', changes: { nodes: [], tables: [] }, signed: [body2], last: true, upTo: { [V]: h2 } }, { skipHello: true });
    for (let i = 0; i < 100 && !(await notesOf(receiver.replica)).some((r) => r.includes('"v2"')); i++) await ticks(2);
    expect(await notesOf(receiver.replica)).toEqual([JSON.stringify(['v2', 'second'])]);
    expect(receiver.replica.getVector()[V] ?? 0).toBeLessThan(h2);
    await settle(receiver, victim, 'v1');
    expect(await notesOf(receiver.replica)).toContain(JSON.stringify(['v1', 'first']));
  });

  it('a relay\'s consecutive sets of an author advance the entry along the chain', async () => {
    const victim = await node();
    const receiver = await node();
    const V = victim.replica.nodeId;
    const { h1, h2, body2 } = await victimWithNextSet(victim);
    const body1 = await signChangeSet(victim.replica.identity!, noteRow(V, 'v1', 'first', h1), { prev: 0, parts: 1 });
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(903), durableKit);
    // Out of order on purpose: the chain is followed in stamp order within a message.
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [body2, body1] });
    await until(() => receiver.replica.getVector()[V] === h2);
    expect(await notesOf(receiver.replica)).toEqual([JSON.stringify(['v1', 'first']), JSON.stringify(['v2', 'second'])]);
  });

  it('a set of a stamp cut in parts, or with no known predecessor, never advances the chain', async () => {
    const victim = await node();
    const receiver = await node();
    const V = victim.replica.nodeId;
    const { h1 } = await victimWithNextSet(victim);
    const part = await signChangeSet(victim.replica.identity!, noteRow(V, 'p1', 'part', h1 + 2048), { prev: 0, parts: 2 });
    const unknown = await signChangeSet(victim.replica.identity!, noteRow(V, 'u1', 'no prev', h1 + 4096));
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(904), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [part, unknown] });
    for (let i = 0; i < 100 && (await notesOf(receiver.replica)).length < 2; i++) await ticks(2);
    expect(await notesOf(receiver.replica)).toHaveLength(2);
    expect(receiver.replica.getVector()[V]).toBeUndefined();
  });

  it('an honest relay fed a gap still forwards the missing set live once it gets it (what it and its peers count as held stays below the gap)', async () => {
    const victim = await node();
    const relay = await node();
    const receiver = await node();
    const V = victim.replica.nodeId;
    const { h1, h2, body2 } = await victimWithNextSet(victim);
    connect(relay, receiver);
    await until(() => readyCount(receiver, relay) === 1);
    const rogue = await openRoguePeer(relay, keys, nodeIdOf(906), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [body2] });
    for (let i = 0; i < 200 && !(await notesOf(receiver.replica)).some((r) => r.includes('"v2"')); i++) await ticks(2);
    expect(await notesOf(receiver.replica)).toEqual([JSON.stringify(['v2', 'second'])]);
    await ticks(20);
    // V meets the relay only; the receiver's link to the relay stays up all along.
    connect(victim, relay);
    for (let i = 0; i < 300 && !(await notesOf(receiver.replica)).some((r) => r.includes('"v1"')); i++) await ticks(2);
    expect(await notesOf(receiver.replica)).toEqual([JSON.stringify(['v1', 'first']), JSON.stringify(['v2', 'second'])]);
    expect(receiver.replica.getVector()[V]).toBeGreaterThanOrEqual(h1);
    expect(relay.replica.getVector()[V]).toBe(h1);
    void h2;
  });

  it('a stamp cut in parts moves a relay\'s receiver\'s entry once every part arrived, not before', async () => {
    // Stamps above 2 rows are cut into sets of 2: V's 5-row exec goes out as 3 sets of one stamp.
    const small = { maxUnsplitRows: 2 };
    const mk = async () => {
      const k = await durableKit.create(nodeIdOf(++seq), { notes: ['body'] });
      return Object.assign(makeNode(`n${seq}`, k.replica, keys, { options: small }), { kit: k });
    };
    const victim = await mk();
    const relay = await mk();
    const far = await mk();
    connect(victim, relay);
    connect(relay, far);
    await until(() => readyCount(relay, victim) === 1 && readyCount(far, relay) === 1);
    await victim.kit.upsert('notes', [1, 2, 3, 4, 5].map((i): [string, { body: string }] => [`big${i}`, { body: `row ${i}` }]));
    const V = victim.replica.nodeId;
    const h = victim.replica.getVector()[V]!;
    for (let i = 0; i < 200 && (far.replica.getVector()[V] ?? 0) < h; i++) await ticks(2);
    expect(await far.kit.dump('notes')).toEqual(await victim.kit.dump('notes'));
    expect(relay.replica.getVector()[V]).toBe(h);
    expect(far.replica.getVector()[V]).toBe(h);

    // A member that forwards only some parts (one of them twice) moves nothing; the last part does.
    const receiver = await node();
    const W = (await node()).replica;
    const hw = W.getVector()[W.nodeId] ?? 0;
    const stamp = hw + 4096;
    const parts = await Promise.all([1, 2, 3].map((i) => signChangeSet(W.identity!, noteRow(W.nodeId, `w${i}`, `part ${i}`, stamp), { prev: hw, parts: 3 })));
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(907), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [parts[0]!] });
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [parts[1]!, parts[0]!] });
    for (let i = 0; i < 200 && (await notesOf(receiver.replica)).length < 2; i++) await ticks(2);
    await ticks(20);
    expect(receiver.replica.getVector()[W.nodeId] ?? 0).toBeLessThan(stamp);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [parts[2]!] });
    await until(() => receiver.replica.getVector()[W.nodeId] === stamp);
    expect(await notesOf(receiver.replica)).toHaveLength(3);
  });

  it('a member that connects under the victim\'s node id gets no author\'s trust for the victim\'s sets', async () => {
    // The room token authenticates members, not node ids: the rogue's link claims V's peer id.
    const victim = await node();
    const receiver = await node();
    const V = victim.replica.nodeId;
    const { h2, body2 } = await victimWithNextSet(victim);
    const rogue = await openRoguePeer(receiver, keys, V, durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [body2] });
    for (let i = 0; i < 100 && !(await notesOf(receiver.replica)).some((r) => r.includes('"v2"')); i++) await ticks(2);
    await ticks(20);
    expect(await notesOf(receiver.replica)).toEqual([JSON.stringify(['v2', 'second'])]);
    expect(receiver.replica.getVector()[V] ?? 0).toBeLessThan(h2);
  });

  it('two bodies of one part (an ECDSA signature re-signed or flipped to n - s) count as one part', async () => {
    // ECDSA signatures are randomized and malleable: (r, s) and (r, n - s) both verify, so a member
    // holding one genuine part can mint other genuine bodies of that same part at will.
    const receiver = await node();
    const W = await createSigningIdentity(['ECDSA-P256']);
    const stamp = 2 ** 40;
    const prev = stamp - 4096;
    const [p1, p2] = await Promise.all([1, 2].map((i) => signChangeSet(W, noteRow(W.nodeId, `e${i}`, `part ${i}`, stamp), { prev, parts: 2 })));
    const resigned = await signChangeSet(W, noteRow(W.nodeId, 'e1', 'part 1', stamp), { prev, parts: 2 });
    const [payload, sig] = decode(p1!) as [Uint8Array, Uint8Array];
    const flipped = new Uint8Array(sig);
    flipped.set(bigBytes(P256_ORDER - bytesBig(sig.subarray(32)), 32), 32);
    const malleated = encode([payload, flipped]);
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(908), durableKit);
    // The receiver first learns W's entry up to prev, from an unbroken chain of W's (a whole set).
    const base = await signChangeSet(W, noteRow(W.nodeId, 'e0', 'base', prev), { prev: 0, parts: 1 });
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [base] });
    await until(() => receiver.replica.getVector()[W.nodeId] === prev);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [p1!, malleated, resigned] });
    for (let i = 0; i < 200 && (await notesOf(receiver.replica)).length < 2; i++) await ticks(2);
    await ticks(20);
    expect(await notesOf(receiver.replica)).toHaveLength(2);
    expect(receiver.replica.getVector()[W.nodeId]).toBe(prev);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [p2!] });
    await until(() => receiver.replica.getVector()[W.nodeId] === stamp);
    expect(await notesOf(receiver.replica)).toHaveLength(3);
  });

  it('after a crash, log replay raises the entry no further than the apply did', async () => {
    const victim = await node();
    const V = victim.replica.nodeId;
    const { h2, body2 } = await victimWithNextSet(victim);
    const store = new MemoryKeyValueStore();
    const open = (s: MemoryKeyValueStore) => openDurableReplica({ store: s, createReplica, warn: () => {} });
    const first = await open(store);
    await first.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body)');
    await first.enableSync('notes');
    await first.close();
    // Reopened and crashed right after the receiver applied and acknowledged the withheld set:
    // the log holds it, no snapshot does.
    const crashing = store.reopen();
    const live = await open(crashing);
    const receiver = Object.assign(makeNode('crashing', live, keys), { kit: null as unknown as KitReplica });
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(905), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [body2] });
    for (let i = 0; i < 100 && (await notesOf(live)).length === 0; i++) await ticks(2);
    await live.whenDurable?.();
    const acked = live.getVector()[V] ?? 0;
    expect(acked).toBeLessThan(h2);
    receiver.sync.close();
    crashing.crashAfterWrites(0);
    const replayed = await open(store.reopen());
    expect(await notesOf(replayed)).toEqual([JSON.stringify(['v2', 'second'])]);
    expect(replayed.getVector()[V] ?? 0).toBe(acked);
    // And it still asks V for v1.
    const back = Object.assign(makeNode('replayed', replayed, keys), { kit: { dump: async () => notesOf(replayed) } as unknown as KitReplica });
    await settle(back, victim, 'v1');
    expect(await notesOf(replayed)).toContain(JSON.stringify(['v1', 'first']));
    await replayed.close();
  });
});
