/**
 * Issue 11, finding 1 (forged authorship), tried as an attacker would: a room member sends
 * changes under another member's node id (or the receiver's own), stamped a moment ahead, to make
 * the receiver raise its vector for that node and skip that node's real changes. Every replica
 * here is the real one (sql.js + durable log) with its own key pair, on a clock past the legacy
 * horizon (authored-batch.ts), where everything must be signed.
 */
import { decode, encode } from '@msgpack/msgpack';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { negativeZeroCodec } from '../../../../shared-worker/replica/contracts/msgpack-negative-zero.js';
import { createSigningIdentity, exportSigningIdentity, type SigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { openDurableReplica } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { LEGACY_HORIZON_HLC } from '../../../../shared-worker/sync/authored-batch.js';
import { signChangeSet, verifyChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { toWire } from '../../../../shared-worker/sync/wire-changes.js';
import { PROTOCOL_VERSION } from '../../../../shared-worker/sync/peer-protocol.js';
import { durableKit } from './durable-kit.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { connect, errorsOf, makeNode, readyCount, type TestNode } from './net.js';
import type { KitReplica } from './replica-kit.js';
import { openRoguePeer, type RoguePeer } from './rogue-peer.js';

type KitNode = TestNode & { kit: KitReplica };

/** Ten days past the horizon: a wall clock on which unsigned changes are no longer legacy. */
const SHIFT = LEGACY_HORIZON_HLC / 1024 + 10 * 86_400_000 - Date.now();
const later = () => Date.now() + SHIFT;

/** A body signed by `signer` whose payload claims `claimed` as author and `changes` (any nodes). */
async function forge(signer: SigningIdentity, claimed: string, hlc: number, changes: ChangeSet, publicKey = signer.publicKey): Promise<Uint8Array> {
  const payload = encode(['rtc-battery signed set v1', signer.scheme, publicKey, claimed, hlc, toWire(changes)], { extensionCodec: negativeZeroCodec });
  const signature = new Uint8Array(await crypto.subtle.sign(signer.scheme === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' }, signer.privateKey, payload));
  return encode([payload, signature]);
}

const noteRow = (node: string, id: string, body: string, hlc: number): ChangeSet => ({
  nodes: [node],
  tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: [id], put: [hlc, 0], del: null, cells: [[0, body, hlc, 0]] }] }],
});

describe('forged authorship', () => {
  let keys: RoomKeys;
  let seq = 0;
  beforeAll(async () => {
    keys = (await roomFor('authorship token')).keys;
  });

  async function node(): Promise<KitNode> {
    const k = await durableKit.create(nodeIdOf(++seq), { notes: ['body'] }, { now: later });
    return Object.assign(makeNode(`n${seq}`, k.replica, keys), { kit: k });
  }

  /** Sends `msg` from a fresh rogue member link to `target`; resolves once the target closed it. */
  async function attack(target: KitNode, msg: unknown): Promise<RoguePeer> {
    const rogue = await openRoguePeer(target, keys, nodeIdOf(200 + ++seq), durableKit);
    if ((msg as { t: string }).t === 'delta') {
      // As the answer to the target's hello: the one delta the target waits for.
      await rogue.send({ t: 'hello', protocol: PROTOCOL_VERSION, nodeId: rogue.nodeId, fingerprints: target.replica.fingerprints(), vector: {} }, { skipHello: true });
      await rogue.send(msg, { skipHello: true });
    } else await rogue.send(msg);
    await until(() => rogue.closed());
    return rogue;
  }

  it('refuses changes under another member\'s or its own node id, keeps its vector, and still gets the real changes', async () => {
    const victim = await node();
    const receiver = await node();
    const attacker = await createSigningIdentity();
    // The victim's real writes, made before the attack and not yet seen by the receiver.
    await victim.kit.upsert('notes', [['v1', { body: 'real 1' }]]);
    await victim.kit.upsert('notes', [['v2', { body: 'real 2' }]]);
    const ahead = hlcFromMs(later() + 1); // 1 ms ahead of the victim's newest stamp
    const V = victim.replica.nodeId;
    const R = receiver.replica.nodeId;
    const vectorBefore = receiver.replica.getVector();
    const cases: Array<[what: string, msg: () => Promise<unknown>]> = [
      ['unsigned, under the victim\'s id', async () => ({ t: 'live', madeAt: {}, changes: noteRow(V, 'v1', 'forged', ahead) })],
      ['unsigned, under the receiver\'s own id', async () => ({ t: 'live', madeAt: {}, changes: noteRow(R, 'r1', 'forged', ahead) })],
      ['signed by the attacker, claiming the victim', async () => ({ t: 'live', madeAt: {}, changes: noteRow(V, 'x', 'x', 0), signed: [await forge(attacker, V, ahead, noteRow(V, 'v1', 'forged', ahead))] })],
      ['signed by the attacker, claiming the receiver', async () => ({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [await forge(attacker, R, ahead, noteRow(R, 'r1', 'forged', ahead))] })],
      ['the victim\'s id with the victim\'s public key, signed by the attacker', async () => ({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [await forge(attacker, V, ahead, noteRow(V, 'v1', 'forged', ahead), victim.replica.identity!.publicKey)] })],
      ['a delta piece with the same forgery', async () => ({ t: 'delta', changes: noteRow(V, 'v1', 'forged', ahead), signed: [], last: true, upTo: { [V]: ahead } })],
    ];
    for (const [what, msg] of cases) {
      const rogue = await attack(receiver, await msg());
      const errs = errorsOf(receiver).filter((e) => e.peerId === rogue.peerId);
      expect(errs.map((e) => e.code), what).toEqual(['AUTH']);
      expect(receiver.replica.getVector(), what).toEqual(vectorBefore);
    }
    expect(await receiver.kit.dump('notes')).toEqual([]);

    // The victim's real changes, below the forged stamp, still arrive.
    connect(victim, receiver);
    await until(() => readyCount(receiver, victim) === 1);
    for (;;) {
      if ((await receiver.kit.dump('notes')).length === 2) break;
      await ticks(2);
    }
    expect(await receiver.kit.dump('notes')).toEqual([JSON.stringify(['v1', 'real 1']), JSON.stringify(['v2', 'real 2'])]);
    expect(receiver.replica.getVector()[V]).toBe(victim.replica.getVector()[V]);
  });

  it('refuses tampered bytes, a swapped public key and a set that mixes two nodes', async () => {
    const receiver = await node();
    const member = await createSigningIdentity();
    const other = await createSigningIdentity();
    const hlc = hlcFromMs(later());
    // The member's first stamp (prev 0): a relay's set that continues the member's chain moves the vector.
    const honest = await signChangeSet(member, noteRow(member.nodeId, 'm1', 'mine', hlc), { prev: 0, parts: 1 });
    const [payload, signature] = decode(honest) as [Uint8Array, Uint8Array];
    const tampered = payload.slice();
    tampered[tampered.length - 2] ^= 1; // inside the last cell value
    const mixed: ChangeSet = { nodes: [member.nodeId, other.nodeId], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: ['m2'], put: [hlc, 0], del: null, cells: [[0, 'x', hlc, 1]] }] }] };
    const bodies: Array<[string, Uint8Array]> = [
      ['tampered payload', encode([tampered, signature])],
      ['swapped public key', await forge(member, member.nodeId, hlc, noteRow(member.nodeId, 'm1', 'mine', hlc), other.publicKey)],
      ['two nodes in one set', await forge(member, member.nodeId, hlc, mixed)],
    ];
    for (const [what, body] of bodies) {
      const rogue = await attack(receiver, { t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [body] });
      expect(errorsOf(receiver).filter((e) => e.peerId === rogue.peerId).map((e) => e.code), what).toEqual(['AUTH']);
    }
    expect(receiver.replica.getVector()).toEqual({});
    // The honest set itself is taken (a member may write any row under its own id).
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(299), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: { nodes: [], tables: [] }, signed: [honest] });
    await until(() => receiver.replica.getVector()[member.nodeId] === hlc);
    expect(await receiver.kit.dump('notes')).toEqual([JSON.stringify(['m1', 'mine'])]);
  });

  it('takes unsigned changes only below the legacy horizon, never under its own id', async () => {
    const receiver = await node();
    const legacyId = 'f1f1f1f1f1f1f1f1';
    const refusedAt = await attack(receiver, { t: 'live', madeAt: {}, changes: noteRow(legacyId, 'late', 'x', LEGACY_HORIZON_HLC) });
    expect(errorsOf(receiver).filter((e) => e.peerId === refusedAt.peerId).map((e) => e.code)).toEqual(['AUTH']);
    const own = await attack(receiver, { t: 'live', madeAt: {}, changes: noteRow(receiver.replica.nodeId, 'mine', 'x', LEGACY_HORIZON_HLC - 10) });
    expect(errorsOf(receiver).filter((e) => e.peerId === own.peerId).map((e) => e.code)).toEqual(['AUTH']);
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(298), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes: noteRow(legacyId, 'old', 'legacy', LEGACY_HORIZON_HLC - 1) });
    await until(() => receiver.replica.getVector()[legacyId] === LEGACY_HORIZON_HLC - 1);
    expect(await receiver.kit.dump('notes')).toEqual([JSON.stringify(['old', 'legacy'])]);
  });

  it('a replica on the ECDSA P-256 fallback (a browser without Ed25519) syncs signed both ways with an Ed25519 one', async () => {
    const ecdsa = await createSigningIdentity(['ECDSA-P256']);
    const store = new MemoryKeyValueStore();
    await store.write({ set: [['identity', await exportSigningIdentity(ecdsa)]] });
    const d = await openDurableReplica({ store, createReplica, replicaOptions: { now: later }, warn: () => {} });
    await d.exec('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body)');
    await d.enableSync('notes');
    expect(d.identity.scheme).toBe('ECDSA-P256');
    expect(d.nodeId).toBe(ecdsa.nodeId);
    const fallback = makeNode('ecdsa', d, keys);
    const ed = await node();
    expect(ed.replica.identity!.scheme).toBe('Ed25519');
    await d.exec("INSERT INTO notes VALUES ('e1', 'from ecdsa')");
    await ed.kit.upsert('notes', [['d1', { body: 'from ed25519' }]]);
    connect(fallback, ed);
    for (;;) {
      if ((await ed.kit.dump('notes')).length === 2 && (await d.exec('SELECT * FROM notes')).rows.length === 2) break;
      await ticks(2);
    }
    expect(ed.replica.signedSince({}).map((b) => b.node)).toEqual([d.nodeId]);
    expect(errorsOf(fallback)).toEqual([]);
    expect(errorsOf(ed)).toEqual([]);
    fallback.sync.close();
    ed.sync.close();
  });

  it('a relay forwards the origin\'s bytes: C verifies A\'s sets that only B passed on', async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    await a.kit.upsert('notes', [['a1', { body: 'before' }]]);
    connect(a, b);
    connect(b, c); // A never meets C
    await until(() => readyCount(b, a) === 1 && readyCount(c, b) === 1);
    await a.kit.upsert('notes', [['a2', { body: 'live' }]]);
    for (;;) {
      if ((await c.kit.dump('notes')).length === 2) break;
      await ticks(2);
    }
    const atB = b.replica.signedSince({});
    const atC = c.replica.signedSince({});
    expect(atC.map((s) => s.node)).toEqual([a.replica.nodeId, a.replica.nodeId]);
    // Verbatim: the same bytes at B and C, and they check as A's.
    expect(atC.map((s) => [...s.body])).toEqual(atB.map((s) => [...s.body]));
    for (const s of atC) expect((await verifyChangeSet(s.body)).author).toBe(a.replica.nodeId);
    expect(errorsOf(c)).toEqual([]);
  });
});
