/**
 * What a member's sets cost a replica that meets it only through a relay: its chain links let
 * the replica's entry follow, so a reconnect resends nothing (docs/security.md, "Withheld sets").
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { createSigningIdentity } from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { hlcFromMs } from '../../../../shared-worker/replica/hlc.js';
import { signChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { durableKit } from './durable-kit.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { connect, errorsOf, makeNode, type TestNode } from './net.js';
import type { KitReplica } from './replica-kit.js';
import { openRoguePeer } from './rogue-peer.js';

type KitNode = TestNode & { kit: KitReplica };
const EMPTY: ChangeSet = { nodes: [], tables: [] };
const noteRow = (node: string, id: string, body: string, hlc: number): ChangeSet => ({
  nodes: [node], tables: [{ table: 'notes', columns: ['body'], rows: [{ pk: [id], put: [hlc, 0], del: null, cells: [[0, body, hlc, 0]] }] }],
});

describe('resends of a member met only through a relay', () => {
  let keys: RoomKeys;
  let seq = 0;
  beforeAll(async () => {
    keys = (await roomFor('chain lie cost token')).keys;
  });
  async function node(): Promise<KitNode> {
    const k = await durableKit.create(nodeIdOf(++seq), { notes: ['body'] });
    return Object.assign(makeNode(`n${seq}`, k.replica, keys), { kit: k });
  }

  it('a chained member\'s rows cross once, not once per reconnect', async () => {
    const relay = await node();
    const member = await createSigningIdentity();
    const rogue = await openRoguePeer(relay, keys, member.nodeId, durableKit);
    const N = 200;
    const base = hlcFromMs(Date.now());
    const bodies = await Promise.all(Array.from({ length: N }, (_, i) => {
      const h = base + 1024 * (i + 1);
      return signChangeSet(member, noteRow(member.nodeId, `m${i}`, `row ${i}`, h), { prev: i === 0 ? 0 : h - 1024, parts: 1 });
    }));
    await rogue.send({ t: 'live', madeAt: {}, changes: EMPTY, signed: bodies });
    await until(() => relay.replica.getVector()[member.nodeId] === base + 1024 * N);
    const reader = await node();
    const resent: number[] = [];
    for (let round = 0; round < 3; round++) {
      const before = reader.events.length;
      const link = connect(relay, reader);
      await until(() => reader.events.slice(before).some((e) => e.type === 'caught-up'));
      const progress = reader.events.slice(before).filter((e) => e.type === 'sync-progress').at(-1);
      resent.push(progress && 'rowsDone' in progress ? (progress.rowsDone as number) : 0);
      link.close('reconnect');
      await ticks(10);
    }
    expect((await reader.kit.dump('notes')).length).toBe(N);
    expect(errorsOf(reader)).toEqual([]);
    expect(resent).toEqual([N, 0, 0]);
  });
});
