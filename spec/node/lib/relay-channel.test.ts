import { describe, expect, it } from 'vitest';
import { followerPort, HostRelay, type ChannelLike } from '../../../lib/relay-channel.js';
import { Hub } from '../../../shared-worker/hub/hub.js';
import { attachTo, newTestBattery } from './battery-fixture.js';
import { FakeDurableReplica } from '../shared-worker/hub/fake-durable-replica.js';
import { FakeLiveness } from '../shared-worker/hub/hub-fixture.js';
import { memoryPortPair, settle } from '../shared-worker/hub/memory-port.js';

/** BroadcastChannel semantics: a post reaches every other member of the same name, cloned, asynchronously. */
class FakeBroadcast {
  private readonly members = new Set<FakeMember>();
  join(): FakeMember {
    const m = new FakeMember(this);
    this.members.add(m);
    return m;
  }
  send(from: FakeMember, data: unknown) {
    for (const m of this.members) if (m !== from) setImmediate(() => m.receive(structuredClone(data)));
  }
  leave(m: FakeMember) {
    this.members.delete(m);
  }
}

class FakeMember implements ChannelLike {
  private readonly listeners = new Set<(e: { data: unknown }) => void>();
  constructor(private readonly bus: FakeBroadcast) {}
  postMessage(m: unknown) {
    this.bus.send(this, m);
  }
  addEventListener(_t: 'message', l: (e: { data: unknown }) => void) {
    this.listeners.add(l);
  }
  removeEventListener(_t: 'message', l: (e: { data: unknown }) => void) {
    this.listeners.delete(l);
  }
  close() {
    this.bus.leave(this);
  }
  receive(data: unknown) {
    for (const l of this.listeners) l({ data });
  }
}

async function hostWithHub(bus: FakeBroadcast, hostTabId: string) {
  const replica = await FakeDurableReplica.open();
  const hub = new Hub({ openReplica: async () => replica, liveness: new FakeLiveness() });
  const channel = bus.join();
  const relay = new HostRelay(channel, hostTabId, () => {
    const [tabSide, workerSide] = memoryPortPair();
    hub.attach(workerSide as never);
    return tabSide;
  });
  return { hub, relay, replica };
}

describe('dedicated mode relay over BroadcastChannel', () => {
  it('a follower tab reaches the host tab worker: requests, responses and pushes', async () => {
    const bus = new FakeBroadcast();
    const { hub } = await hostWithHub(bus, 'host');
    const hostBattery = newTestBattery('host');
    await attachTo(hostBattery, hub);
    const follower = newTestBattery('f1');
    await follower.attach(followerPort(bus.join(), 'f1', 'host'));
    await hostBattery.exec('CREATE TABLE t(x)');
    const counts: number[] = [];
    follower.watch('SELECT count(*) AS n FROM t', [], (r) => counts.push(r.rows[0]!.n as number));
    await settle();
    await hostBattery.exec('INSERT INTO t VALUES (1)');
    await settle(10);
    expect(counts).toEqual([0, 1]);
    expect((await follower.exec('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 1 }]);
    expect(hub.tabCount).toBe(2);
  });

  it('ignores traffic addressed to another host, and a stopped relay stops answering', async () => {
    const bus = new FakeBroadcast();
    const { relay } = await hostWithHub(bus, 'host-2');
    const stale = newTestBattery('f', 300);
    // addressed to a host that is gone: nobody answers, the hello times out with WORKER
    await expect(stale.attach(followerPort(bus.join(), 'f', 'host-1'))).rejects.toMatchObject({ code: 'WORKER' });
    relay.stop();
    const late = newTestBattery('g', 300);
    await expect(late.attach(followerPort(bus.join(), 'g', 'host-2'))).rejects.toMatchObject({ code: 'WORKER' });
  });

  it('answers who-hosts with host-up, and forget() drops a dead tab port', async () => {
    const bus = new FakeBroadcast();
    const { relay } = await hostWithHub(bus, 'h');
    const probe = bus.join();
    const seen: unknown[] = [];
    probe.addEventListener('message', (e) => seen.push(e.data));
    probe.postMessage({ t: 'who-hosts', from: 'x' });
    await settle();
    expect(seen).toContainEqual({ t: 'host-up', host: 'h' });
    const tab = newTestBattery('x');
    await tab.attach(followerPort(bus.join(), 'x', 'h'));
    expect(relay.relayedTabs).toBe(1);
    relay.forget('x');
    expect(relay.relayedTabs).toBe(0);
  });
});
