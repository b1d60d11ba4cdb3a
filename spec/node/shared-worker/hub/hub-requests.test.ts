import { describe, expect, it } from 'vitest';
import { WorkerClient } from '../../../../lib/worker-client.js';
import { PROTOCOL_VERSION } from '../../../../shared-worker/protocol/worker-protocol.js';
import { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import { makeHub } from './hub-fixture.js';
import { memoryPortPair, settle } from './memory-port.js';
import { FAKE_NODE_ID } from './fake-durable-replica.js';

describe('hub: hello and requests', () => {
  it('welcomes a tab with the node id and state, opening the replica once for many tabs', async () => {
    const { connectTab, opens } = await makeHub();
    const a = await connectTab();
    const b = await connectTab();
    expect(a.welcome.nodeId).toBe(FAKE_NODE_ID);
    expect(a.welcome.v).toBe(PROTOCOL_VERSION);
    expect(b.welcome.state).toEqual({ version: 0, localVersion: 0, peers: [], connected: false, schemaVersion: 0, syncState: [], mailbox: null });
    expect(opens()).toBe(1);
  });

  it('answers exec with rows keyed by column name and reports SQL errors as BatteryError', async () => {
    const { connectTab } = await makeHub();
    const tab = await connectTab();
    await tab.client.request({ op: 'exec', sql: 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)' });
    await tab.client.request({ op: 'exec', sql: 'INSERT INTO t VALUES (?, ?), (?, ?)', params: [1, 'a', 2, new Uint8Array([7])] });
    const res = await tab.client.request({ op: 'exec', sql: 'SELECT id, v FROM t ORDER BY id' });
    expect(res.columns).toEqual(['id', 'v']);
    expect(res.rows).toEqual([{ id: 1, v: 'a' }, { id: 2, v: new Uint8Array([7]) }]);
    await expect(tab.client.request({ op: 'exec', sql: 'SELEC nonsense' })).rejects.toMatchObject({ name: 'BatteryError', code: 'SQL' });
  });

  it('serves requests in arrival order across tabs without waiting for each acknowledgement', async () => {
    const { connectTab, replica } = await makeHub();
    const a = await connectTab();
    const b = await connectTab();
    await a.client.request({ op: 'exec', sql: 'CREATE TABLE log(n INTEGER)' });
    const writes = [];
    for (let i = 0; i < 20; i++) {
      const tab = i % 2 === 0 ? a : b;
      writes.push(tab.client.request({ op: 'exec', sql: `INSERT INTO log VALUES (${i})` }));
    }
    await Promise.all(writes);
    // a's messages all arrive before b's only if the hub reordered; per-port order is all we may
    // assume across two ports, so check each tab's own order plus that every write landed.
    const res = await a.client.request({ op: 'exec', sql: 'SELECT n FROM log ORDER BY rowid' });
    const order = res.rows.map((r) => r.n as number);
    expect(order.filter((n) => n % 2 === 0)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(order.filter((n) => n % 2 === 1)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(replica.log.filter((s) => s.startsWith('INSERT')).length).toBe(20);
  });

  it('attaches the current version and local version to every response', async () => {
    const { connectTab, replica } = await makeHub();
    const tab = await connectTab();
    await tab.client.request({ op: 'exec', sql: 'CREATE TABLE t(x)' });
    await tab.client.request({ op: 'exec', sql: 'INSERT INTO t VALUES (1)' });
    expect(tab.states.map((s) => s.version)).toEqual([1, 2]);
    expect(tab.states[1]!.localVersion).toBe(replica.getVector()[replica.nodeId]);
  });

  it('refuses a hello with another protocol version with VERSION and ignores that port afterwards', async () => {
    const { hub, helloFor } = await makeHub();
    const [tabSide, workerSide] = memoryPortPair();
    hub.attach(workerSide as never);
    const client = new WorkerClient(tabSide as never, { timeoutMs: 5_000, onPush: () => {} });
    await expect(client.hello({ ...helloFor('old-tab'), v: PROTOCOL_VERSION + 1 })).rejects.toMatchObject({ code: 'VERSION' });
    tabSide.post(helloFor('old-tab'));
    await settle();
    expect(hub.tabCount).toBe(0);
  });

  it('refuses a tab of another database (the worker is per dbName)', async () => {
    const { connectTab, hub, helloFor } = await makeHub();
    await connectTab();
    const [tabSide, workerSide] = memoryPortPair();
    hub.attach(workerSide as never);
    const client = new WorkerClient(tabSide as never, { timeoutMs: 5_000, onPush: () => {} });
    await expect(client.hello({ ...helloFor('x'), dbName: 'other' })).rejects.toMatchObject({ code: 'BAD_OP' });
  });

  it('answers a request sent before hello with WORKER, and a malformed request with BAD_OP (SQL for bad params)', async () => {
    const { hub, connectTab } = await makeHub();
    const [tabSide, workerSide] = memoryPortPair();
    hub.attach(workerSide as never);
    const client = new WorkerClient(tabSide as never, { timeoutMs: 5_000, onPush: () => {} });
    await expect(client.request({ op: 'exec', sql: 'SELECT 1' })).rejects.toMatchObject({ code: 'WORKER' });
    const tab = await connectTab();
    await expect(tab.client.request({ op: 'exec', sql: 42 } as never)).rejects.toMatchObject({ code: 'BAD_OP' });
    // a parameter value SQLite cannot bind is the caller's SQL error, as in the replica
    await expect(tab.client.request({ op: 'exec', sql: 'SELECT ?', params: [{ nested: true }] } as never)).rejects.toMatchObject({ code: 'SQL' });
    await expect(tab.client.request({ op: 'drop-everything' } as never)).rejects.toMatchObject({ code: 'BAD_OP' });
  });

  it('rejects connect with SIGNALING when no peer room is plugged in', async () => {
    const { connectTab } = await makeHub();
    const tab = await connectTab();
    await expect(tab.client.request({ op: 'connect', signalingUrl: 'ws://127.0.0.1:9/x', token: 't' })).rejects.toMatchObject({ code: 'SIGNALING' });
    await expect(tab.client.request({ op: 'disconnect' })).resolves.toBeNull();
  });

  it('refuses tabs (without hanging them) when the replica cannot open, and retries on the next hello', async () => {
    let attempts = 0;
    const { hub, helloFor, replica } = await makeHub({
      openReplica: async () => {
        attempts++;
        if (attempts === 1) throw new Error('IndexedDB unavailable');
        return replica;
      },
    });
    const [t1, w1] = memoryPortPair();
    hub.attach(w1 as never);
    const c1 = new WorkerClient(t1 as never, { timeoutMs: 5_000, onPush: () => {} });
    await expect(c1.hello(helloFor('a'))).rejects.toMatchObject({ name: 'BatteryError' });
    const [t2, w2] = memoryPortPair();
    hub.attach(w2 as never);
    const c2 = new WorkerClient(t2 as never, { timeoutMs: 5_000, onPush: () => {} });
    await expect(c2.hello(helloFor('b'))).resolves.toMatchObject({ kind: 'welcome' });
    expect(attempts).toBe(2);
  });
});

describe('hub: problems met while opening', () => {
  it('posts each startup error (log entries set aside) to every tab as an error, after its welcome', async () => {
    const { connectTab, replica } = await makeHub();
    const problem = new BatteryError('WORKER', 'log entry 7 could not be applied and was set aside', { setAside: [7] });
    (replica as { startupErrors?: () => BatteryError[] }).startupErrors = () => [problem];
    const a = await connectTab();
    const b = await connectTab();
    await settle();
    for (const tab of [a, b]) {
      expect(tab.pushes).toEqual([{ kind: 'error', error: expect.objectContaining({ code: 'WORKER', message: problem.message }) }]);
    }
  });
});
