import { describe, expect, it } from 'vitest';
import { createSyncPeerRoom, type CoordinatorInit, type SyncPeerRoomDeps } from '../../../../shared-worker/sync/mesh-room.js';
import type { LeaderHandle, PeerRoomHost } from '../../../../shared-worker/sync/peer-room.js';
import type { PeerLink } from '../../../../shared-worker/protocol/peer-link.js';
import type { DurableReplica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import type { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import type { MailboxSyncState, MeshStartConfig, PeerEvent } from '../../../../shared-worker/protocol/worker-protocol.js';
import type { MailboxAttachmentOptions } from '../../../../shared-worker/sync/mailbox-attachment.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';

const NODE = '00112233445566aa';
const ROOM_OF = (token: string) => token.padEnd(32, '0').slice(0, 32).replace(/[^0-9a-f]/g, 'e');
const peer = (room: string, n: string) => `${room}-${n.repeat(16).slice(0, 16)}`;

class FakeLink implements PeerLink {
  closed: string | undefined | null = null;
  private readonly closeListeners: Array<(r?: string) => void> = [];
  constructor(readonly id: string, readonly remotePeerId: string, readonly initiator = false) {}
  send(): void {}
  bufferedAmount(): number {
    return 0;
  }
  close(reason?: string): void {
    if (this.closed !== null) return;
    this.closed = reason;
    for (const l of this.closeListeners) l(reason);
  }
  onFrame(): void {}
  onDrain(): void {}
  onClose(l: (r?: string) => void): void {
    this.closeListeners.push(l);
  }
}

/** A replica stand-in with the record store the member's signaling secret lives in. */
function recordReplica(nodeId: string): DurableReplica {
  const records = new Map<string, unknown>();
  return {
    nodeId,
    getRecord: async (k: string) => records.get(k),
    putRecords: async (entries: ReadonlyArray<readonly [string, unknown]>) => {
      for (const [k, v] of entries) records.set(k, v);
    },
  } as unknown as DurableReplica;
}

function setup(attachMailbox?: SyncPeerRoomDeps['attachMailbox']) {
  const events: PeerEvent[] = [];
  const errors: BatteryError[] = [];
  const meshStarts: Array<{ epoch: number; config: MeshStartConfig }> = [];
  const meshStops: number[] = [];
  const coordinators: Array<{ init: CoordinatorInit; links: PeerLink[]; closed: boolean }> = [];
  let leader: LeaderHandle | null = null;
  const makeLeader = (epoch: number): LeaderHandle => ({
    epoch,
    tabId: `tab${epoch}`,
    startMesh: (config) => meshStarts.push({ epoch, config }),
    stopMesh: () => meshStops.push(epoch),
  });
  const host: PeerRoomHost = {
    replica: recordReplica(NODE),
    emit: (e) => events.push(e),
    reportError: (e) => errors.push(e),
    leader: () => leader,
  };
  const scheduled: Array<() => void> = [];
  const room = createSyncPeerRoom({
    schedule: (task) => void scheduled.push(task),
    deriveKeys: async (token) => ({ roomId: ROOM_OF(token) }) as RoomKeys,
    createCoordinator: (init) => {
      const c = { init, links: [] as PeerLink[], closed: false };
      coordinators.push(c);
      return { addLink: (l) => void c.links.push(l), close: () => void (c.closed = true) };
    },
    ...(attachMailbox ? { attachMailbox } : {}),
  })(host);
  return {
    room, events, errors, meshStarts, meshStops, coordinators,
    setLeader(epoch: number | null) {
      leader = epoch === null ? null : makeLeader(epoch);
      room.onLeaderChange(leader);
      for (const task of scheduled.splice(0)) task();
    },
    /** A leader change whose deferred mesh-start has not run yet. */
    setLeaderDeferred(epoch: number) {
      leader = makeLeader(epoch);
      room.onLeaderChange(leader);
      return () => {
        for (const task of scheduled.splice(0)) task();
      };
    },
  };
}

const URL_ = 'http://127.0.0.1:9000/';

describe('SyncPeerRoom', () => {
  it('derives the room, starts the coordinator and asks the leader to join as <roomId>-<nodeId>', async () => {
    const t = setup();
    t.setLeader(1);
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    const roomId = ROOM_OF('abc');
    expect(t.meshStarts).toEqual([{ epoch: 1, config: { signalingUrl: URL_, roomId, selfPeerId: `${roomId}-${NODE}`, signalingToken: expect.stringMatching(/^[0-9a-f]{32}$/), iceServers: [] } }]);
    expect(t.coordinators[0]!.init.selfPeerId).toBe(`${roomId}-${NODE}`);
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    expect(t.meshStarts).toHaveLength(1); // same room again: nothing to do
  });

  it('refuses to connect without a token (AUTH) or with a bad URL (SIGNALING)', async () => {
    const t = setup();
    await expect(t.room.connect({ signalingUrl: URL_ })).rejects.toMatchObject({ code: 'AUTH' });
    await expect(t.room.connect({ signalingUrl: 'nope', token: 'x' })).rejects.toMatchObject({ code: 'SIGNALING' });
    await expect(t.room.connect({ token: 'x' })).rejects.toMatchObject({ code: 'SIGNALING' });
    expect(t.coordinators).toHaveLength(0);
  });

  it('maps signaling status to connected / disconnected / reconnecting / reconnected and keeps isConnected current', async () => {
    const t = setup();
    t.setLeader(1);
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    t.room.onMeshStatus({ signaling: 'connecting' });
    t.room.onMeshStatus({ signaling: 'open' });
    expect(t.room.isConnected()).toBe(true);
    t.room.onMeshStatus({ signaling: 'reconnecting', attempt: 1 });
    t.room.onMeshStatus({ signaling: 'reconnecting', attempt: 2 });
    expect(t.room.isConnected()).toBe(false);
    t.room.onMeshStatus({ signaling: 'open' });
    t.room.onMeshStatus({ signaling: 'error', error: { code: 'SIGNALING', message: 'room is full' } });
    expect(t.events).toEqual([
      { name: 'connected' },
      { name: 'disconnected' },
      { name: 'reconnecting', attempt: 1 },
      { name: 'reconnecting', attempt: 2 },
      { name: 'reconnected' },
    ]);
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['SIGNALING', 'room is full']]);
  });

  it('hands room links to the coordinator with peer-join once per peer, and refuses others', async () => {
    const t = setup();
    t.setLeader(1);
    const early = new FakeLink('l0', peer(ROOM_OF('abc'), '1'));
    t.room.onLink(early);
    expect(early.closed).toBe('not connected');
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    const roomId = ROOM_OF('abc');
    const l1 = new FakeLink('l1', peer(roomId, '1'));
    const l2 = new FakeLink('l2', peer(roomId, '1'));
    const stranger = new FakeLink('l3', peer('f'.repeat(32), '2'));
    const self = new FakeLink('l4', `${roomId}-${NODE}`);
    for (const l of [l1, l2, stranger, self]) t.room.onLink(l);
    expect(t.coordinators[0]!.links).toEqual([l1, l2]);
    expect(stranger.closed).toBe('not a member of this room');
    expect(self.closed).toBe('not a member of this room');
    expect(t.events).toEqual([{ name: 'peer-join', peerId: peer(roomId, '1') }]);
    l1.close();
    l2.close();
    t.room.onLink(new FakeLink('l5', peer(roomId, '1')));
    expect(t.events.filter((e) => e.name === 'peer-join')).toHaveLength(2); // joined again after leaving
  });

  it('fans coordinator events out as Battery events and keeps peers() current', async () => {
    const t = setup();
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    const emit = t.coordinators[0]!.init.emit;
    const p = peer(ROOM_OF('abc'), '3');
    emit({ type: 'peer-ready', peerId: p });
    expect(t.room.peers()).toEqual([p]);
    emit({ type: 'sync', count: 4, peerId: p });
    emit({ type: 'error', code: 'AUTH', message: 'bad mac', peerId: p });
    emit({ type: 'peer-leave', peerId: p });
    emit({ type: 'peer-leave', peerId: p });
    expect(t.room.peers()).toEqual([]);
    expect(t.events).toEqual([
      { name: 'peer-ready', peerId: p },
      { name: 'sync', count: 4, peerId: p },
      { name: 'peer-leave', peerId: p },
    ]);
    expect(t.errors[0]).toMatchObject({ code: 'AUTH', message: 'bad mac', detail: { peerId: p } });
  });

  it('starts the mesh in each new leader and reports the gap as a reconnection', async () => {
    const t = setup();
    await t.room.connect({ signalingUrl: URL_, token: 'abc' }); // no leader yet: nothing to start
    expect(t.meshStarts).toHaveLength(0);
    t.setLeader(1);
    t.room.onMeshStatus({ signaling: 'open' });
    t.setLeader(null);
    t.setLeader(2);
    t.room.onMeshStatus({ signaling: 'open' });
    expect(t.meshStarts.map((s) => s.epoch)).toEqual([1, 2]);
    expect(t.events).toEqual([{ name: 'connected' }, { name: 'disconnected' }, { name: 'reconnected' }]);
  });

  it('sends mesh-start to a new leader only after the current task (its claimLeader answer goes first)', async () => {
    const t = setup();
    t.setLeader(1);
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    const runDeferred = t.setLeaderDeferred(2);
    expect(t.meshStarts.map((s) => s.epoch)).toEqual([1]);
    runDeferred();
    expect(t.meshStarts.map((s) => s.epoch)).toEqual([1, 2]);
    // Superseded before the task ran: only the newest leader is started.
    const stale = t.setLeaderDeferred(3);
    t.setLeader(4);
    stale();
    expect(t.meshStarts.map((s) => s.epoch)).toEqual([1, 2, 4]);
  });

  it('disconnect stops the mesh, closes links and the coordinator, and says peer-leave and disconnected', async () => {
    const t = setup();
    t.setLeader(1);
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    t.room.onMeshStatus({ signaling: 'open' });
    const p = peer(ROOM_OF('abc'), '1');
    const link = new FakeLink('l1', p);
    t.room.onLink(link);
    t.coordinators[0]!.init.emit({ type: 'peer-ready', peerId: p });
    t.events.length = 0;
    await t.room.disconnect();
    expect(t.meshStops).toEqual([1]);
    expect(link.closed).toBe('disconnected');
    expect(t.coordinators[0]!.closed).toBe(true);
    expect(t.events).toEqual([{ name: 'peer-leave', peerId: p }, { name: 'disconnected' }]);
    expect(t.room.isConnected()).toBe(false);
    // A late event of the old coordinator is ignored; connect() without arguments rejoins.
    t.coordinators[0]!.init.emit({ type: 'peer-ready', peerId: p });
    expect(t.room.peers()).toEqual([]);
    await t.room.connect({});
    expect(t.meshStarts).toHaveLength(2);
  });

  it('switching rooms disconnects from the first', async () => {
    const t = setup();
    t.setLeader(1);
    await t.room.connect({ signalingUrl: URL_, token: 'abc' });
    await t.room.connect({ signalingUrl: URL_, token: 'def' });
    expect(t.coordinators.map((c) => c.closed)).toEqual([true, false]);
    expect(t.meshStarts.map((s) => s.config.roomId)).toEqual([ROOM_OF('abc'), ROOM_OF('def')]);
  });

  it('mailboxState: null without a mailbox; online/offline and the last progress while attached; null after disconnect', async () => {
    const plain = setup();
    plain.setLeader(1);
    await plain.room.connect({ signalingUrl: URL_, token: 'abc', mailbox: false });
    expect(plain.room.mailboxState!()).toBeNull();

    let options: MailboxAttachmentOptions | null = null;
    let stopped = 0;
    const t = setup((o) => {
      options = o;
      return { stop: async () => void stopped++ };
    });
    t.setLeader(1);
    expect(t.room.mailboxState!()).toBeNull();
    await t.room.connect({ signalingUrl: URL_, token: 'abc', mailbox: true });
    expect(t.room.mailboxState!()).toEqual({ state: 'offline', progress: null });
    const seen: Array<MailboxSyncState | null> = [];
    const emitted = t.events.length;
    options!.status('online');
    seen.push(t.room.mailboxState!());
    options!.progress({ phase: 'snapshot', done: 2, total: 5 });
    seen.push(t.room.mailboxState!());
    expect(seen).toEqual([{ state: 'online', progress: null }, { state: 'online', progress: { phase: 'snapshot', done: 2, total: 5 } }]);
    expect(t.events.slice(emitted)).toEqual([{ name: 'mailbox', state: 'online' }, { name: 'mailbox-progress', phase: 'snapshot', done: 2, total: 5 }]);
    options!.status('offline');
    expect(t.room.mailboxState!()).toEqual({ state: 'offline', progress: { phase: 'snapshot', done: 2, total: 5 } });
    await t.room.disconnect();
    expect(stopped).toBe(1);
    expect(t.room.mailboxState!()).toBeNull();
  });
});
