/**
 * Dedicated mode (no SharedWorker, or `mode: 'dedicated'`): the leader tab hosts the replica in
 * a module Worker and relays the other tabs to it over a BroadcastChannel (relay-channel.ts).
 * When the host tab closes, its worker dies with it; the next tab to win the leader lock starts
 * a new worker, which reopens the replica from IndexedDB. Acknowledged writes were durable
 * before they were acknowledged, so none is lost; requests pending on the old host are rejected
 * with 'WORKER' (they may or may not have been applied; a retry of a non-idempotent write is
 * the caller's decision), and each tab re-registers its watches with the new host.
 */
import { BatteryError } from '../shared-worker/protocol/errors.js';
import type { Battery } from './battery.js';
import { newBattery, toBatteryError, type TabContext } from './tab-context.js';
import { standForLeader, type Candidacy } from './leader-election.js';
import { messagePortWire } from '../shared-worker/protocol/port-adapters.js';
import { followerPort, HostRelay, isEnvelope, relayChannelName, type ChannelLike } from './relay-channel.js';
import { locksOf, whenTabGone } from '../shared-worker/protocol/tab-lock.js';
import { ATTACH_PORT, type WirePort } from '../shared-worker/protocol/worker-protocol.js';

export async function connectDedicated(ctx: TabContext): Promise<Battery> {
  const { options: o, tabId } = ctx;
  if (typeof BroadcastChannel !== 'function' || typeof Worker !== 'function') {
    throw new BatteryError('WORKER', 'dedicated mode needs Worker and BroadcastChannel');
  }
  const locks = locksOf(globalThis);
  if (!locks) {
    // Without a lock, every tab would host its own worker on the same IndexedDB database.
    throw new BatteryError('WORKER', 'dedicated mode needs the Web Locks API to pick the hosting tab');
  }
  const channel: ChannelLike = new BroadcastChannel(relayChannelName(o.dbName)) as unknown as ChannelLike;
  let candidacy: Candidacy | null = null;
  let worker: Worker | null = null;
  let relay: HostRelay | null = null;
  let currentHost: string | null = null;
  let stopWatchingHost: (() => void) | null = null;
  let closed = false;
  const relayedTabWatches = new Map<string, () => void>();

  const battery = newBattery(ctx, () => {
    closed = true;
    candidacy?.resign();
    stopWatchingHost?.();
    for (const stop of relayedTabWatches.values()) stop();
    relay?.stop();
    worker?.terminate();
    channel.removeEventListener('message', onEnvelope);
    channel.close();
    ctx.releaseTabLock();
  });

  let settle!: { resolve: () => void; reject: (e: BatteryError) => void };
  const firstAttach = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));

  const attach = (port: WirePort, host: string) => {
    currentHost = host;
    battery.attach(port).then(
      () => settle.resolve(),
      (e) => {
        // A host that vanished mid-hello: wait for the next host-up. Our own worker failing is fatal.
        if (host === tabId) settle.reject(toBatteryError(e));
      },
    );
  };

  const followHost = (host: string) => {
    if (closed || host === currentHost || host === tabId) return;
    battery.detach('the tab hosting the database changed');
    stopWatchingHost?.();
    stopWatchingHost = whenTabGone(locks, host, () => {
      if (currentHost === host) {
        currentHost = null;
        battery.detach('the tab hosting the database closed');
      }
    });
    attach(followerPort(channel, tabId, host), host);
  };

  function onEnvelope(e: { data: unknown }): void {
    const d = e.data;
    if (isEnvelope(d) && d.t === 'host-up') followHost(d.host);
  }
  channel.addEventListener('message', onEnvelope);

  const becomeHost = () => {
    if (closed) return;
    stopWatchingHost?.();
    battery.detach('the tab hosting the database closed');
    const w = new Worker(o.workerUrl, { type: 'module', name: `rtc-battery:${o.dbName}` });
    worker = w;
    const openPort = (): WirePort => {
      const mc = new MessageChannel();
      w.postMessage(ATTACH_PORT, [mc.port2]);
      return messagePortWire(mc.port1, [(fire) => w.addEventListener('error', fire)]);
    };
    relay = new HostRelay(channel, tabId, (relayedTab) => {
      if (!relayedTabWatches.has(relayedTab)) {
        relayedTabWatches.set(relayedTab, whenTabGone(locks, relayedTab, () => {
          relayedTabWatches.delete(relayedTab);
          relay?.forget(relayedTab);
        }));
      }
      return openPort();
    });
    attach(openPort(), tabId);
    firstAttach.then(
      () => battery.becomeLeader().catch((e) => battery.reportError(toBatteryError(e))),
      () => {},
    );
  };

  candidacy = standForLeader(locks, o.dbName, becomeHost);
  channel.postMessage({ t: 'who-hosts', from: tabId });

  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      firstAttach,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BatteryError('WORKER', `no tab hosted the database within ${o.requestTimeoutMs} ms`)), o.requestTimeoutMs);
      }),
    ]);
  } catch (e) {
    await battery.close();
    throw toBatteryError(e);
  } finally {
    clearTimeout(timer);
  }
  return battery;
}
