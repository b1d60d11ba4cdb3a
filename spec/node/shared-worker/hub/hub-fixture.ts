/** A hub on a FakeDurableReplica with tabs attached through in-memory ports and real WorkerClients. */
import { Hub, type HubOptions } from '../../../../shared-worker/hub/hub.js';
import type { TabLiveness } from '../../../../shared-worker/hub/tab-registry.js';
import { WorkerClient, type PushMessage } from '../../../../lib/worker-client.js';
import { PROTOCOL_VERSION, type BatteryState, type HelloMessage, type WelcomeMessage } from '../../../../shared-worker/protocol/worker-protocol.js';
import { FakeDurableReplica } from './fake-durable-replica.js';
import { memoryPortPair, type MemoryPort } from './memory-port.js';

/** Liveness under test control: kill(tabId) is "the tab's Web Lock was released". */
export class FakeLiveness implements TabLiveness {
  private readonly watchers = new Map<string, () => void>();
  watch(tabId: string, onGone: () => void): () => void {
    this.watchers.set(tabId, onGone);
    return () => this.watchers.delete(tabId);
  }
  kill(tabId: string): void {
    const w = this.watchers.get(tabId);
    this.watchers.delete(tabId);
    w?.();
  }
  watching(tabId: string): boolean {
    return this.watchers.has(tabId);
  }
}

export interface TestTab {
  tabId: string;
  client: WorkerClient;
  port: MemoryPort;
  pushes: PushMessage[];
  /** The state attached to each response, in arrival order. */
  states: BatteryState[];
  welcome: WelcomeMessage;
}

export async function makeHub(extra: Partial<HubOptions> = {}) {
  const replica = await FakeDurableReplica.open();
  const liveness = new FakeLiveness();
  let opens = 0;
  const hub = new Hub({
    openReplica: async () => {
      opens++;
      return replica;
    },
    liveness,
    ...extra,
  });
  let n = 0;
  const helloFor = (tabId: string): HelloMessage => ({
    kind: 'hello', v: PROTOCOL_VERSION, tabId, dbName: 'test-db', wasmUrl: 'memory:', durability: 'strict',
  });
  async function connectTab(tabId = `tab-${++n}`, timeoutMs = 5_000): Promise<TestTab> {
    const [tabSide, workerSide] = memoryPortPair();
    hub.attach(workerSide as never);
    const pushes: PushMessage[] = [];
    const states: BatteryState[] = [];
    const client = new WorkerClient(tabSide as never, {
      timeoutMs, onPush: (m) => pushes.push(m), onResponse: (m) => states.push(m.state),
    });
    const welcome = await client.hello(helloFor(tabId));
    return { tabId, client, port: tabSide, pushes, states, welcome };
  }
  return { hub, replica, liveness, connectTab, helloFor, opens: () => opens };
}
