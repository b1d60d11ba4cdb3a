import { describe, expect, it } from 'vitest';
import type { PeerLink } from '../../../../shared-worker/protocol/peer-link.js';
import type { LeaderHandle, PeerRoom, PeerRoomHost } from '../../../../shared-worker/sync/peer-room.js';
import { RELAY_HIGH_WATER } from '../../../../shared-worker/sync/relayed-link.js';
import type { MeshStatus } from '../../../../shared-worker/protocol/worker-protocol.js';
import { makeHub, type TestTab } from './hub-fixture.js';
import { settle } from './memory-port.js';

class RecordingRoom implements PeerRoom {
  leaders: Array<LeaderHandle | null> = [];
  links: PeerLink[] = [];
  statuses: MeshStatus[] = [];
  connected = false;
  constructor(readonly host: PeerRoomHost) {}
  async connect() {
    this.connected = true;
    this.host.emit({ name: 'connected' });
    this.host.leader()?.startMesh({ signalingUrl: 'ws://127.0.0.1:9000/peer', roomId: 'r'.repeat(32), selfPeerId: 'me', signalingToken: 'f'.repeat(32), iceServers: [] });
  }
  async disconnect() {
    this.connected = false;
  }
  peers() {
    return this.links.filter((l) => !(l as { isClosed?: boolean }).isClosed).map((l) => l.remotePeerId);
  }
  isConnected() {
    return this.connected;
  }
  onLeaderChange(l: LeaderHandle | null) {
    this.leaders.push(l);
  }
  onLink(link: PeerLink) {
    this.links.push(link);
  }
  onMeshStatus(s: MeshStatus) {
    this.statuses.push(s);
  }
  async close() {}
}

async function setup() {
  let room!: RecordingRoom;
  const f = await makeHub({ peerRoom: (host) => (room = new RecordingRoom(host)) });
  const a = await f.connectTab('a');
  const b = await f.connectTab('b');
  return { ...f, a, b, room: () => room };
}

const leaderCommands = (tab: TestTab) => tab.pushes.filter((m) => m.kind.startsWith('mesh-') || m.kind.startsWith('link-'));

describe('leader relay', () => {
  it('hands out strictly increasing epochs and tells the room about each leader', async () => {
    const { a, b, room } = await setup();
    const e1 = await a.client.request({ op: 'claimLeader' });
    const e2 = await b.client.request({ op: 'claimLeader' });
    expect(e2.epoch).toBeGreaterThan(e1.epoch);
    expect(room().leaders.map((l) => l?.tabId)).toEqual(['a', 'b']);
    await settle();
    // the replaced leader is told to stop its mesh
    expect(leaderCommands(a)).toEqual([{ kind: 'mesh-stop', epoch: e1.epoch }]);
  });

  it('routes mesh-start to the current leader only and relays a link both ways', async () => {
    const { a, b, room } = await setup();
    const { epoch } = await a.client.request({ op: 'claimLeader' });
    await b.client.request({ op: 'connect', signalingUrl: 'ws://127.0.0.1:9000/peer', token: 'secret' });
    await settle();
    expect(leaderCommands(a)).toEqual([expect.objectContaining({ kind: 'mesh-start', epoch, selfPeerId: 'me' })]);
    expect(leaderCommands(b)).toEqual([]);
    expect(b.pushes.some((m) => m.kind === 'peer-event' && m.event.name === 'connected' && m.state.connected)).toBe(true);

    a.client.post({ kind: 'link-open', epoch, linkId: 'L1', remotePeerId: 'peer-x', initiator: true });
    await settle();
    const link = room().links[0]!;
    expect(link).toMatchObject({ id: 'L1', remotePeerId: 'peer-x', initiator: true });
    const received: number[][] = [];
    link.onFrame((f) => received.push([...f]));
    a.client.post({ kind: 'link-frame', epoch, linkId: 'L1', bytes: new Uint8Array([1, 2, 3]) });
    link.send(new Uint8Array([9, 9]));
    await settle();
    expect(received).toEqual([[1, 2, 3]]);
    expect(leaderCommands(a).at(-1)).toEqual({ kind: 'link-send', epoch, linkId: 'L1', bytes: new Uint8Array([9, 9]) });

    const closes: Array<string | undefined> = [];
    link.onClose((r) => closes.push(r));
    a.client.post({ kind: 'link-closed', epoch, linkId: 'L1', reason: 'remote hung up' });
    await settle();
    expect(closes).toEqual(['remote hung up']);
  });

  it('rejects relay messages tagged with a stale epoch, or sent by a tab that is not the leader', async () => {
    const { a, b, room, hub } = await setup();
    const old = await a.client.request({ op: 'claimLeader' });
    const current = await b.client.request({ op: 'claimLeader' });
    a.client.post({ kind: 'link-open', epoch: old.epoch, linkId: 'stale', remotePeerId: 'p', initiator: false });
    a.client.post({ kind: 'link-open', epoch: current.epoch, linkId: 'impostor', remotePeerId: 'p', initiator: false });
    a.client.post({ kind: 'mesh-status', epoch: old.epoch, status: { signaling: 'open' } });
    await settle();
    expect(room().links).toEqual([]);
    expect(room().statuses).toEqual([]);
    expect(hub.diagnostics().staleRelayMessages).toBe(3);
    expect(leaderCommands(a).filter((m) => m.kind === 'mesh-stop').length).toBeGreaterThanOrEqual(3);
    b.client.post({ kind: 'mesh-status', epoch: current.epoch, status: { signaling: 'open' } });
    await settle();
    expect(room().statuses).toEqual([{ signaling: 'open' }]);
  });

  it('closes the relayed links and clears the leader when the leader tab dies', async () => {
    const { a, room, liveness, hub } = await setup();
    const { epoch } = await a.client.request({ op: 'claimLeader' });
    a.client.post({ kind: 'link-open', epoch, linkId: 'L', remotePeerId: 'p', initiator: false });
    await settle();
    const reasons: Array<string | undefined> = [];
    room().links[0]!.onClose((r) => reasons.push(r));
    liveness.kill('a');
    expect(reasons).toEqual(['leader tab closed']);
    expect(room().leaders.at(-1)).toBeNull();
    expect(room().host.leader()).toBeNull();
    expect(hub.diagnostics().relayedLinks).toBe(0);
  });

  it('applies back-pressure from the leader: buffered until the leader reports the bytes consumed', async () => {
    const { a, room } = await setup();
    const { epoch } = await a.client.request({ op: 'claimLeader' });
    a.client.post({ kind: 'link-open', epoch, linkId: 'L', remotePeerId: 'p', initiator: true });
    await settle();
    const link = room().links[0]!;
    let drains = 0;
    link.onDrain(() => drains++);
    const frame = new Uint8Array(64 * 1024);
    let sent = 0;
    while (link.bufferedAmount() < RELAY_HIGH_WATER) {
      link.send(frame);
      sent += frame.byteLength;
    }
    expect(link.bufferedAmount()).toBe(sent);
    a.client.post({ kind: 'link-drain', epoch, linkId: 'L', consumed: sent, bufferedAmount: 300_000 });
    await settle();
    expect(drains).toBe(0); // still above the low-water mark inside the DataChannel
    a.client.post({ kind: 'link-drain', epoch, linkId: 'L', consumed: sent, bufferedAmount: 0 });
    await settle();
    expect(drains).toBe(1);
    expect(link.bufferedAmount()).toBe(0);
  });
});
