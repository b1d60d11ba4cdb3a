import { describe, expect, it } from 'vitest';
import { WorkerClient, type PushMessage } from '../../../../lib/worker-client.js';
import type { PeerRoomFactory } from '../../../../shared-worker/sync/peer-room.js';
import type { WorkerToTab } from '../../../../shared-worker/protocol/worker-protocol.js';
import { makeHub } from './hub-fixture.js';
import { memoryPortPair, settle } from './memory-port.js';

/** A room whose connect never finishes: a request of the tab stays in service. */
const hangingRoom: PeerRoomFactory = () => ({
  connect: () => new Promise<void>(() => {}),
  disconnect: async () => {},
  peers: () => [],
  isConnected: () => false,
  onLeaderChange() {},
  onLink() {},
  onMeshStatus() {},
  close: async () => {},
});

async function tab(f: Awaited<ReturnType<typeof makeHub>>, tabId: string) {
  const [tabSide, workerSide] = memoryPortPair();
  f.hub.attach(workerSide as never);
  const seen: string[] = [];
  const client = new WorkerClient(tabSide as never, {
    timeoutMs: 5_000,
    onPush: (m: PushMessage) => { if (m.kind === 'change') seen.push(`change ${m.tables.join()}`); },
    onResponse: () => seen.push('response'),
  });
  await client.hello(f.helloFor(tabId));
  const received = () => (workerSide.sent as WorkerToTab[]).filter((m) => m.kind === 'change' || m.kind === 'response');
  return { client, seen, received };
}

describe('change events folded into responses', () => {
  it("the writer gets its write's change event inside the response, before it, as one message; other tabs get it alone", async () => {
    const f = await makeHub();
    const a = await tab(f, 'a');
    const b = await tab(f, 'b');
    await a.client.request({ op: 'exec', sql: 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, body TEXT)' });
    await settle();
    const aBefore = a.received().length;
    const bBefore = b.received().length;
    a.seen.length = 0;
    await a.client.request({ op: 'exec', sql: "INSERT INTO notes VALUES ('1', 'one')" });
    await settle();
    expect(a.seen).toEqual(['change notes', 'response']);
    expect(a.received().slice(aBefore).map((m) => m.kind)).toEqual(['response']);
    expect(b.received().slice(bBefore).map((m) => m.kind)).toEqual(['change']);
    expect(b.seen.at(-1)).toBe('change notes');
  });

  it('a change event held for a tab whose request stays in service goes out on its own a task later', async () => {
    const f = await makeHub({ peerRoom: hangingRoom });
    const a = await tab(f, 'a');
    const b = await tab(f, 'b');
    await a.client.request({ op: 'exec', sql: 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, body TEXT)' });
    let answered = false;
    void b.client.request({ op: 'connect' } as never).finally(() => { answered = true; });
    await settle();
    expect(answered).toBe(false); // in service
    b.seen.length = 0;
    await a.client.request({ op: 'exec', sql: "INSERT INTO notes VALUES ('1', 'one')" });
    await settle();
    expect(b.seen).toEqual(['change notes']);
  });
});
