/**
 * Issue 11, finding 1, attacked again by a hostile room member after the fix (docs/security.md,
 * "Authorship"): honest-looking signed sets that should still be refused or cost nothing, and
 * the relay state a newcomer depends on. Real replicas (sql.js + durable log) with their own
 * keys, on a clock past the legacy horizon, where everything must be signed.
 */
import { encode } from '@msgpack/msgpack';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { negativeZeroCodec } from '../../../../shared-worker/replica/contracts/msgpack-negative-zero.js';
import { createSigningIdentity, type SigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { LEGACY_HORIZON_HLC } from '../../../../shared-worker/sync/authored-batch.js';
import { signChangeSet, verifyChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { toWire } from '../../../../shared-worker/sync/wire-changes.js';
import { durableKit } from './durable-kit.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { connect, errorsOf, makeNode, readyCount, type TestNode } from './net.js';
import type { KitReplica } from './replica-kit.js';
import { openRoguePeer, type RoguePeer } from './rogue-peer.js';

type KitNode = TestNode & { kit: KitReplica };

/** Ten days past the horizon: a wall clock on which unsigned changes are no longer legacy. */
const SHIFT = LEGACY_HORIZON_HLC / 1024 + 10 * 86_400_000 - Date.now();
const later = () => Date.now() + SHIFT;
const EMPTY: ChangeSet = { nodes: [], tables: [] };

const noteRow = (node: string, id: string, body: string, hlc: number, table = 'notes'): ChangeSet => ({
  nodes: [node],
  tables: [{ table, columns: ['body'], rows: [{ pk: [id], put: [hlc, 0], del: null, cells: [[0, body, hlc, 0]] }] }],
});

/** A body signed by `signer` over any payload fields (the signature is genuine, the content is not checked here). */
async function signRaw(signer: SigningIdentity, hlc: number, changes: ChangeSet): Promise<Uint8Array> {
  const payload = encode(['rtc-battery signed set v1', signer.scheme, signer.publicKey, signer.nodeId, hlc, toWire(changes)], { extensionCodec: negativeZeroCodec });
  const signature = new Uint8Array(await crypto.subtle.sign(signer.scheme === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' }, signer.privateKey, payload));
  return encode([payload, signature]);
}

describe('authorship attacks by a room member', () => {
  let keys: RoomKeys;
  let seq = 0;
  beforeAll(async () => {
    keys = (await roomFor('authorship attacks token')).keys;
  });

  async function node(tables: Record<string, string[]> = { notes: ['body'] }): Promise<KitNode> {
    const k = await durableKit.create(nodeIdOf(++seq), tables, { now: later });
    return Object.assign(makeNode(`n${seq}`, k.replica, keys), { kit: k });
  }

  const rogueAt = (target: KitNode) => openRoguePeer(target, keys, nodeIdOf(500 + ++seq), durableKit);

  /** Sends `msg` from a fresh rogue link and waits until `target` closed it; returns the error codes it reported for that link. */
  async function refusedCodes(target: KitNode, msg: unknown): Promise<string[]> {
    const rogue = await rogueAt(target);
    await rogue.send(msg);
    await until(() => rogue.closed());
    return errorsOf(target).filter((e) => e.peerId === rogue.peerId).map((e) => e.code);
  }

  it('refuses a valid body mixed with unsigned changes of the same signer and stamp in one message', async () => {
    const receiver = await node();
    const member = await createSigningIdentity();
    const hlc = hlcFromMs(later());
    const body = await signChangeSet(member, noteRow(member.nodeId, 'm1', 'signed', hlc));
    // The unsigned extra rides on the signer's own (verified) stamp: no cover for it.
    const codes = await refusedCodes(receiver, { t: 'live', madeAt: {}, changes: noteRow(member.nodeId, 'm2', 'smuggled', hlc), signed: [body] });
    expect(codes).toEqual(['AUTH']);
    expect(receiver.replica.getVector()).toEqual({});
    expect(await receiver.kit.dump('notes')).toEqual([]);
    expect(receiver.replica.signedSince({})).toEqual([]);
  });

  it('refuses unsigned changes under a node that signs a set in the same message, also before the legacy horizon', async () => {
    const early = await durableKit.create(nodeIdOf(++seq), { notes: ['body'] }, { now: () => LEGACY_HORIZON_HLC / 1024 - 6 * 3_600_000 });
    const receiver = Object.assign(makeNode(`n${seq}`, early.replica, keys), { kit: early });
    const member = await createSigningIdentity();
    const hlc = hlcFromMs(LEGACY_HORIZON_HLC / 1024 - 6 * 3_600_000);
    const body = await signChangeSet(member, noteRow(member.nodeId, 'm1', 'signed', hlc));
    // Stamped before the horizon, so it would pass as legacy history, but its node signs.
    const codes = await refusedCodes(receiver, { t: 'live', madeAt: {}, changes: noteRow(member.nodeId, 'm2', 'smuggled', hlc + 4 * 60_000 * 1024), signed: [body] });
    expect(codes).toEqual(['AUTH']);
    expect(receiver.replica.getVector()).toEqual({});
    expect(await receiver.kit.dump('notes')).toEqual([]);
  });

  it('refuses a set whose nodes list names the signer but whose registers point past it', async () => {
    const receiver = await node();
    const member = await createSigningIdentity();
    const hlc = hlcFromMs(later());
    const pointsPast: ChangeSet = { nodes: [member.nodeId], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: ['m1'], put: [hlc, 0], del: null, cells: [[0, 'x', hlc, 1]] }] }] };
    const codes = await refusedCodes(receiver, { t: 'live', madeAt: {}, changes: EMPTY, signed: [await signRaw(member, hlc, pointsPast)] });
    expect(codes.length).toBe(1);
    expect(['AUTH', 'BAD_OP']).toContain(codes[0]);
    expect(receiver.replica.getVector()).toEqual({});
    expect(await receiver.kit.dump('notes')).toEqual([]);
  });

  it('a genuine body stamped beyond the clock drift limit is refused (SKEW), signature or not', async () => {
    const receiver = await node();
    const member = await createSigningIdentity();
    const farAhead = hlcFromMs(later() + 25 * 3_600_000);
    const codes = await refusedCodes(receiver, { t: 'live', madeAt: {}, changes: EMPTY, signed: [await signChangeSet(member, noteRow(member.nodeId, 'm1', 'from the future', farAhead))] });
    expect(codes).toEqual(['SKEW']);
    expect(receiver.replica.getVector()).toEqual({});
    expect(await receiver.kit.dump('notes')).toEqual([]);
    expect(receiver.replica.signedSince({})).toEqual([]);
  });

  it('duplicated and replayed bodies apply once and are kept once', async () => {
    const receiver = await node();
    const member = await createSigningIdentity();
    const h1 = hlcFromMs(later());
    const h2 = h1 + 5;
    // The member's first two stamps, chained (prev), so the relayed sets may move the vector.
    const b1 = await signChangeSet(member, noteRow(member.nodeId, 'm1', 'first', h1), { prev: 0, parts: 1 });
    const b2 = await signChangeSet(member, noteRow(member.nodeId, 'm2', 'second', h2), { prev: h1, parts: 1 });
    const rogue = await rogueAt(receiver);
    await rogue.send({ t: 'live', madeAt: {}, changes: EMPTY, signed: [b2, b1, b2, b1] });
    await until(() => receiver.replica.getVector()[member.nodeId] === h2);
    await rogue.send({ t: 'live', madeAt: {}, changes: EMPTY, signed: [b1] }); // replay, reordered below the vector
    await rogue.send({ t: 'live', madeAt: {}, changes: EMPTY, signed: [b2, b2] });
    await ticks(40);
    expect(rogue.closed()).toBe(false);
    expect(errorsOf(receiver)).toEqual([]);
    expect(await receiver.kit.dump('notes')).toEqual([JSON.stringify(['m1', 'first']), JSON.stringify(['m2', 'second'])]);
    expect(receiver.replica.getVector()).toEqual({ [member.nodeId]: h2 });
    expect(receiver.replica.signedSince({}).map((s) => s.hlc).sort()).toEqual([h1, h2]);
  });

  it('a body only for a table the receiver lacks moves nothing but its chain, and is kept (parked) to be forwarded', async () => {
    const receiver = await node();
    const member = await createSigningIdentity();
    const hlc = hlcFromMs(later());
    const rogue = await rogueAt(receiver);
    await rogue.send({ t: 'live', madeAt: {}, changes: EMPTY, signed: [await signChangeSet(member, noteRow(member.nodeId, 's1', 'x', hlc, 'secret'))] });
    // A later set of a shared table from the same link shows the first one has been handled.
    const other = await createSigningIdentity();
    const h2 = hlcFromMs(later());
    await rogue.send({ t: 'live', madeAt: {}, changes: EMPTY, signed: [await signChangeSet(other, noteRow(other.nodeId, 'o1', 'y', h2), { prev: 0, parts: 1 })] });
    await until(() => receiver.replica.getVector()[other.nodeId] === h2);
    // Not linked to anything the receiver holds of its author: the entry stays where it was.
    expect(receiver.replica.getVector()[member.nodeId]).toBeUndefined();
    // Its rows are parked (docs/schema-evolution.md, "Tables one peer does not sync"): the body
    // is kept, so a peer that syncs the table gets it through the receiver.
    expect(receiver.replica.signedSince({}).map((s) => s.node)).toEqual([member.nodeId, other.nodeId]);
  });

  it('superseded bodies do not pile up: a flood of one-row updates is swept, and a newcomer still gets the whole state from the relay', async () => {
    const honest = await node();
    const relay = await node();
    const member = await createSigningIdentity();
    await honest.kit.upsert('notes', [['h1', { body: 'honest 1' }], ['h2', { body: 'honest 2' }]]);
    connect(honest, relay);
    await until(() => readyCount(relay, honest) === 1);
    await honest.kit.upsert('notes', [['h2', { body: 'honest 2b' }]]);
    const rogue: RoguePeer = await rogueAt(relay);
    // 1,300 stamps of one row, each its own live batch: each wins on arrival, then is superseded.
    const FLOOD = 1_300;
    const base = hlcFromMs(later());
    let last = 0;
    for (let i = 0; i < FLOOD; i += 100) {
      // Chained like an honest member's stamps (each names the one before), so the vector follows.
      const bodies = await Promise.all(Array.from({ length: 100 }, (_, j) => signChangeSet(member, noteRow(member.nodeId, 'spam', `v${i + j}`, base + i + j), { prev: i + j === 0 ? 0 : base + i + j - 1, parts: 1 })));
      for (const b of bodies) await rogue.send({ t: 'live', madeAt: {}, changes: EMPTY, signed: [b] });
      last = base + i + 99;
      await until(() => relay.replica.getVector()[member.nodeId] === last);
    }
    expect(errorsOf(relay)).toEqual([]);
    const kept = relay.replica.signedSince({});
    // One sweep ran past 1,024 bodies: what stays is the live stamp plus what arrived since.
    expect(kept.length).toBeLessThan(FLOOD - 1_000);
    expect(kept.filter((s) => s.node === member.nodeId).at(-1)!.hlc).toBe(last);

    const newcomer = await node();
    const first = connect(relay, newcomer); // never meets the honest replica nor the rogue
    const want = await relay.kit.dump('notes');
    expect(want).toContain(JSON.stringify(['spam', `v${FLOOD - 1}`]));
    expect(want).toContain(JSON.stringify(['h2', 'honest 2b']));
    for (;;) {
      if ((await newcomer.kit.dump('notes')).join() === want.join()) break;
      await ticks(2);
    }
    // The relay swept the member's superseded sets, so the newcomer cannot follow the member's
    // chain: its entry stays behind (the next delta resends the member's live row; docs/security.md
    // "Withheld sets"), every other entry matches the relay's.
    const { [member.nodeId]: behind, ...others } = newcomer.replica.getVector();
    const { [member.nodeId]: relayed, ...relayOthers } = relay.replica.getVector();
    expect(others).toEqual(relayOthers);
    expect(behind ?? 0).toBeLessThan(relayed!);
    // What that costs: every later delta from a replica other than the member resends what that
    // replica keeps of the member above the entry: its live registers and the sets it has not
    // swept yet (each one row here), bounded by the sweep, not by the member's history.
    first.close('reconnect');
    await ticks(10);
    const before = newcomer.events.length;
    const link = connect(relay, newcomer);
    await until(() => newcomer.events.slice(before).some((e) => e.type === 'caught-up'));
    const resent = newcomer.events.slice(before).filter((e) => e.type === 'sync-progress').at(-1);
    const keptAbove = relay.replica.signedSince({ [member.nodeId]: behind ?? 0 }).filter((x) => x.node === member.nodeId).length;
    expect(resent).toMatchObject({ rowsDone: keptAbove, rowsTotal: keptAbove });
    expect(keptAbove).toBeLessThan(FLOOD - 1_000);
    link.close('done');
    for (const s of newcomer.replica.signedSince({})) expect((await verifyChangeSet(s.body)).author).toBe(s.node);
    expect(errorsOf(newcomer)).toEqual([]);
  });
});

/**
 * The legacy rule against a member that sends unsigned changes under another member's
 * key-bound id, stamped a few minutes ahead so the receiver's vector entry for that member jumps
 * past its real signed writes (docs/security.md, "Legacy history").
 */
describe('unsigned changes under a key-bound member id', () => {
  let keys: RoomKeys;
  let seq = 700;
  beforeAll(async () => {
    keys = (await roomFor('unsigned under a key-bound id token')).keys;
  });

  /** A clock that starts at `startMs` and runs with the real one. */
  const clockFrom = (startMs: number) => {
    const shift = startMs - Date.now();
    return () => Date.now() + shift;
  };

  async function node(now: () => number): Promise<KitNode> {
    const k = await durableKit.create(nodeIdOf(++seq), { notes: ['body'] }, { now });
    return Object.assign(makeNode(`n${seq}`, k.replica, keys), { kit: k });
  }

  /** Waits until `receiver` holds row `id`, or gives up after a while (the caller's expect then fails). */
  async function awaitRow(receiver: KitNode, id: string): Promise<void> {
    for (let i = 0; i < 200 && (await receiver.kit.dump('notes')).every((r) => !r.startsWith(`["${id}"`)); i++) await ticks(2);
  }

  async function forge(receiver: KitNode, changes: ChangeSet): Promise<string[]> {
    const rogue = await openRoguePeer(receiver, keys, nodeIdOf(++seq), durableKit);
    await rogue.send({ t: 'live', madeAt: {}, changes });
    for (let i = 0; i < 40 && !rogue.closed(); i++) await ticks(2);
    return errorsOf(receiver).filter((e) => e.peerId === rogue.peerId).map((e) => e.code);
  }

  it('on the day of the signing release (past the horizon), a forgery stamped 4 minutes ahead is refused and hides nothing', async () => {
    // Midday of the release day: after the horizon, and a receiver that never saw the victim.
    const now = clockFrom(Date.UTC(2026, 11, 6, 12));
    const victim = await node(now);
    const receiver = await node(now);
    await victim.kit.upsert('notes', [['v1', { body: 'real' }]]);
    const V = victim.replica.nodeId;
    const codes = await forge(receiver, noteRow(V, 'zz', 'forged', hlcFromMs(now() + 4 * 60_000)));
    expect(codes).toEqual(['AUTH']);
    expect(receiver.replica.getVector()[V]).toBeUndefined();

    connect(victim, receiver);
    await until(() => readyCount(receiver, victim) === 1);
    await awaitRow(receiver, 'v1');
    expect(await receiver.kit.dump('notes')).toEqual([JSON.stringify(['v1', 'real'])]);
    expect(receiver.replica.getVector()[V]).toBe(victim.replica.getVector()[V]);
  });

  it('a victim whose clock is behind the horizon: once its signature was seen here, a forgery under it is refused whatever its stamp', async () => {
    const now = clockFrom(LEGACY_HORIZON_HLC / 1024 - 6 * 3_600_000);
    const victim = await node(now);
    const receiver = await node(now);
    const V = victim.replica.nodeId;
    await victim.kit.upsert('notes', [['v1', { body: 'first' }]]);
    const link = connect(victim, receiver);
    await until(() => readyCount(receiver, victim) === 1);
    await awaitRow(receiver, 'v1');
    expect(receiver.replica.isKnownAuthor(V)).toBe(true);
    link.close();
    await victim.kit.upsert('notes', [['v2', { body: 'while apart' }]]);

    const known = receiver.replica.getVector()[V];
    const forgedAt = hlcFromMs(now() + 4 * 60_000);
    expect(forgedAt).toBeLessThan(LEGACY_HORIZON_HLC); // it would pass as legacy history by its stamp alone
    const codes = await forge(receiver, noteRow(V, 'zz', 'forged', forgedAt));
    expect(codes).toEqual(['AUTH']);
    expect(receiver.replica.getVector()[V]).toBe(known);

    connect(victim, receiver);
    await until(() => readyCount(receiver, victim) === 2);
    await awaitRow(receiver, 'v2');
    expect(await receiver.kit.dump('notes')).toEqual([JSON.stringify(['v1', 'first']), JSON.stringify(['v2', 'while apart'])]);
  });

  it('a forgery under a key-bound id that never signed here, stamped before the horizon, lands below all of its signed writes', async () => {
    // The limit of the rule, stated as a test: first contact, pre-horizon forgery. It is taken,
    // but it cannot raise the vector past anything the victim signed (all of it is past the horizon).
    const now = clockFrom(Date.UTC(2026, 11, 6, 12));
    const victim = await node(now);
    const receiver = await node(now);
    await victim.kit.upsert('notes', [['v1', { body: 'real' }]]);
    const V = victim.replica.nodeId;
    const codes = await forge(receiver, noteRow(V, 'old', 'forged history', LEGACY_HORIZON_HLC - 1));
    expect(codes).toEqual([]);
    await until(() => receiver.replica.getVector()[V] === LEGACY_HORIZON_HLC - 1);

    connect(victim, receiver);
    await until(() => readyCount(receiver, victim) === 1);
    await awaitRow(receiver, 'v1');
    expect(await receiver.kit.dump('notes')).toContain(JSON.stringify(['v1', 'real']));
    expect(receiver.replica.getVector()[V]).toBe(victim.replica.getVector()[V]);

    // The receiver now knows the victim signs: it does not pass the forged register on (a
    // newcomer would refuse the whole delta with AUTH, and the link would fail on every retry).
    expect(receiver.replica.isKnownAuthor(V)).toBe(true);
    const newcomer = await node(now);
    connect(receiver, newcomer);
    await until(() => readyCount(newcomer, receiver) === 1);
    await awaitRow(newcomer, 'v1');
    expect(await newcomer.kit.dump('notes')).toEqual([JSON.stringify(['v1', 'real'])]);
    expect(errorsOf(newcomer)).toEqual([]);
    expect(errorsOf(receiver)).toEqual([]);
  });

  it('a relay that took such a forgery before it knew the victim syncs cleanly with a replica that knows the victim', async () => {
    const now = clockFrom(Date.UTC(2026, 11, 6, 12));
    const victim = await node(now);
    const peer = await node(now);
    const relay = await node(now);
    const V = victim.replica.nodeId;
    await victim.kit.upsert('notes', [['v1', { body: 'real' }]]);
    connect(victim, peer);
    await until(() => readyCount(peer, victim) === 1);
    await awaitRow(peer, 'v1');
    expect(await forge(relay, noteRow(V, 'old', 'forged history', LEGACY_HORIZON_HLC - 1))).toEqual([]);
    await until(() => relay.replica.getVector()[V] === LEGACY_HORIZON_HLC - 1);

    // The relay's delta holds nothing of V's below the peer's vector entry for V: the forgery stays out.
    connect(relay, peer);
    await until(() => readyCount(peer, relay) === 1);
    await awaitRow(relay, 'v1');
    await ticks(20);
    expect(errorsOf(peer)).toEqual([]);
    expect(errorsOf(relay).filter((e) => e.peerId === peer.peerId)).toEqual([]);
    expect(await relay.kit.dump('notes')).toEqual([JSON.stringify(['old', 'forged history']), JSON.stringify(['v1', 'real'])]);
    expect(await peer.kit.dump('notes')).toEqual([JSON.stringify(['v1', 'real'])]);
    expect(relay.replica.isKnownAuthor(V)).toBe(true);
  });
});
