/**
 * Sync status over the in-memory kit: each peer goes connecting → syncing → caught-up, the
 * caught-up event comes once the initial delta is applied, and sync-progress counts a large delta
 * up to the total its sender announced.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import type { SyncEvent } from '../../../../shared-worker/sync/sync-events.js';
import type { PeerSyncState } from '../../../../shared-worker/protocol/worker-protocol.js';
import type { SyncOptions } from '../../../../shared-worker/sync/sync-options.js';
import { connect, errorsOf, makeNode, type TestNode } from './net.js';
import { nodeIdOf, roomFor, ticks, until } from './helpers.js';
import { memoryKit, type KitReplica } from './replica-kit.js';

type KitNode = TestNode & { kit: KitReplica };
const TABLES = { notes: ['body', 'n'] };

function statesOf(n: TestNode, peer: TestNode): PeerSyncState[] {
  const out: PeerSyncState[] = [];
  for (const e of n.events) if (e.type === 'sync-state') for (const p of e.peers) if (p.peerId === peer.peerId) out.push(p);
  return out;
}

/** The state names in order, repeats folded. */
function phases(states: PeerSyncState[]): string[] {
  const out: string[] = [];
  for (const s of states) if (out.at(-1) !== s.state) out.push(s.state);
  return out;
}

type Progress = Extract<SyncEvent, { type: 'sync-progress' }>;
const progressOf = (n: TestNode, peer: TestNode): Progress[] =>
  n.events.filter((e): e is Progress => e.type === 'sync-progress' && e.peerId === peer.peerId);

describe('sync status', () => {
  let keys: RoomKeys;
  let seq = 0;
  beforeAll(async () => {
    keys = (await roomFor('sync status token')).keys;
  });

  async function node(options?: Partial<SyncOptions>): Promise<KitNode> {
    const k = await memoryKit.create(nodeIdOf(++seq), TABLES);
    return Object.assign(makeNode(`n${seq}`, k.replica, keys, options ? { options } : {}), { kit: k });
  }

  /** `count` rows, each written by its own exec (so each has its own hlc and pieces can be cut between them). */
  async function fill(n: KitNode, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await n.kit.upsert('notes', [[`r${String(i).padStart(4, '0')}`, { body: `row ${i}`, n: i }]]);
  }

  it('each side goes connecting → syncing → caught-up, and says caught-up once the delta is applied', async () => {
    const a = await node({ pieceRows: 10 });
    const b = await node();
    await fill(a, 60);
    await b.kit.upsert('notes', [['from-b', { body: 'b', n: 0 }]]);
    let rowsAtCaughtUp = -1;
    const push = b.events.push.bind(b.events);
    b.events.push = (...es: SyncEvent[]) => {
      // The replica must hold the whole initial delta when the event is emitted.
      for (const e of es) if (e.type === 'caught-up') void b.kit.dump('notes').then((rows) => (rowsAtCaughtUp = rows.length));
      return push(...es);
    };
    connect(a, b);
    await until(() => b.events.some((e) => e.type === 'caught-up') && a.events.some((e) => e.type === 'caught-up'));
    await until(() => rowsAtCaughtUp >= 0);
    expect(rowsAtCaughtUp).toBe(61);
    expect(phases(statesOf(b, a))).toEqual(['connecting', 'syncing', 'caught-up']);
    expect(phases(statesOf(a, b))).toEqual(['connecting', 'syncing', 'caught-up']);
    // b learnt of 60 rows to receive from a's announced total, and a of 60 rows to send.
    expect(Math.max(...statesOf(b, a).map((s) => s.toReceive))).toBe(60);
    expect(Math.max(...statesOf(a, b).map((s) => s.toSend))).toBe(60);
    expect(b.events.filter((e) => e.type === 'caught-up')).toEqual([{ type: 'caught-up', peerId: a.peerId }]);
    expect(b.sync.syncState()).toEqual([{ peerId: a.peerId, state: 'caught-up', toSend: 0, toReceive: 0 }]);
    expect(a.sync.syncState()).toEqual([{ peerId: b.peerId, state: 'caught-up', toSend: 0, toReceive: 0 }]);
    // A live write afterwards does not make a peer announce caught-up again.
    await a.kit.upsert('notes', [['live', { body: 'l', n: 1 }]]);
    let rows = 0;
    while (rows !== 62) {
      await ticks(1);
      rows = (await b.kit.dump('notes')).length;
    }
    expect(b.events.filter((e) => e.type === 'caught-up')).toHaveLength(1);
    expect([...errorsOf(a), ...errorsOf(b)]).toEqual([]);
  });

  it('sync-progress counts a large delta up to the total the sender announced', async () => {
    const a = await node({ pieceRows: 25, maxUnsplitRows: 25 });
    const b = await node();
    await fill(a, 300);
    connect(a, b);
    await until(() => b.events.some((e) => e.type === 'caught-up'));
    const progress = progressOf(b, a);
    expect(progress.length).toBe(300 / 25);
    const [first, last] = [progress[0]!, progress.at(-1)!];
    // The totals are known from the first piece on and never move.
    for (const p of progress) {
      expect(p.rowsTotal).toBe(300);
      expect(p.bytesTotal).toBe(first.bytesTotal);
    }
    expect(first.rowsDone).toBe(25);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.rowsDone).toBeGreaterThan(progress[i - 1]!.rowsDone);
      expect(progress[i]!.bytesDone).toBeGreaterThan(progress[i - 1]!.bytesDone);
    }
    expect(last).toMatchObject({ rowsDone: 300, bytesDone: last.bytesTotal });
    expect(last.bytesTotal).toBeGreaterThan(300 * 20);
    // toReceive follows the progress down to 0.
    const toReceive = statesOf(b, a).map((s) => s.toReceive);
    expect(toReceive).toContain(300);
    expect(toReceive.at(-1)).toBe(0);
    // Nothing went the other way: a empty delta makes no progress events.
    expect(progressOf(a, b)).toEqual([]);
  });

  it('a link closed before it is ready leaves the state list', async () => {
    const a = await node();
    const b = await node();
    const pair = connect(a, b);
    expect(a.sync.syncState()).toEqual([{ peerId: b.peerId, state: 'connecting', toSend: 0, toReceive: 0 }]);
    pair.close('gone');
    await until(() => a.sync.syncState().length === 0);
    const last = a.events.filter((e) => e.type === 'sync-state').at(-1);
    expect(last).toEqual({ type: 'sync-state', peers: [] });
  });
});
