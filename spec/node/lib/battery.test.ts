import { describe, expect, it } from 'vitest';
import { BatteryError as BatteryErrorClass, type BatteryError } from '../../../shared-worker/protocol/errors.js';
import type { Diagnostic } from '../../../lib/diagnostics.js';
import type { PeerRoom } from '../../../shared-worker/sync/peer-room.js';
import type { ExecResult } from '../../../shared-worker/replica/contracts/replica-types.js';
import { makeHub } from '../shared-worker/hub/hub-fixture.js';
import { attachTo, newTestBattery, RecordingDriver } from './battery-fixture.js';
import { memoryPortPair, settle } from '../shared-worker/hub/memory-port.js';
import { FAKE_NODE_ID } from '../shared-worker/hub/fake-durable-replica.js';

describe('Battery handle', () => {
  it('runs SQL and keeps its synchronous getters current', async () => {
    const { hub } = await makeHub();
    const db = newTestBattery('t1');
    await attachTo(db, hub);
    expect(db.getNodeId()).toBe(FAKE_NODE_ID);
    expect(db.getVersion()).toBe(0);
    await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v)');
    await db.exec('INSERT INTO t VALUES (?, ?)', [1, 'x']);
    expect(db.getVersion()).toBe(2);
    expect(db.getLocalVersion()).toBeGreaterThan(0);
    expect(await db.execLocal('SELECT v FROM t')).toEqual({ columns: ['v'], rows: [{ v: 'x' }] });
    expect(db.getPeers()).toEqual([]);
    expect(db.isConnected()).toBe(false);
  });

  it('watch: current rows at once, then updates from another tab; unsubscribe stops them', async () => {
    const { hub } = await makeHub();
    const a = newTestBattery('a');
    const b = newTestBattery('b');
    await attachTo(a, hub);
    await attachTo(b, hub);
    await a.exec('CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, body TEXT)');
    const seen: ExecResult[] = [];
    const stop = b.watch('SELECT body FROM notes ORDER BY id', [], (r) => seen.push(r));
    await settle();
    // (sql.js reports no columns for an empty result; the real replica may; only rows matter here)
    expect(seen.map((r) => r.rows)).toEqual([[]]);
    const changes: string[][] = [];
    b.on('change', (tables) => changes.push(tables));
    await a.exec("INSERT INTO notes VALUES ('1', 'hello')");
    await settle();
    expect(seen.at(-1)!.rows).toEqual([{ body: 'hello' }]);
    expect(changes).toEqual([['notes']]);
    stop();
    await settle();
    await a.exec("INSERT INTO notes VALUES ('2', 'again')");
    await settle();
    expect(seen).toHaveLength(2);
    expect(hub.diagnostics().watches).toBe(0);
  });

  it('reports a bad watch through onError (or the error event) and never calls back', async () => {
    const { hub } = await makeHub();
    const db = newTestBattery('t');
    await attachTo(db, hub);
    const errors: BatteryError[] = [];
    const viaEvent: BatteryError[] = [];
    db.on('error', (e) => viaEvent.push(e));
    const calls: unknown[] = [];
    db.watch('DELETE FROM nowhere', null, (r) => calls.push(r), (e) => errors.push(e));
    db.watch('SELECT 1; SELECT 2', null, (r) => calls.push(r));
    await settle();
    expect(calls).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['SQL']);
    expect(viaEvent.map((e) => e.code)).toEqual(['BAD_OP']);
  });

  it('rejects a request that outlives requestTimeoutMs with WORKER, and ignores the late answer', async () => {
    const { hub } = await makeHub();
    const db = newTestBattery('slow', 200);
    const { tabSide } = await attachTo(db, hub);
    // the worker stops answering (hung) but nothing tells the tab
    tabSide.sever();
    await expect(db.exec('SELECT 1')).rejects.toMatchObject({ code: 'WORKER', message: expect.stringContaining('timed out') });
  });

  it('rejects every pending request with WORKER when the worker dies', async () => {
    const { hub, replica } = await makeHub();
    const db = newTestBattery('t');
    const { workerSide } = await attachTo(db, hub);
    await db.exec('CREATE TABLE t(x)');
    // keep the replica from acknowledging: the writes stay pending in the worker
    replica.stallWrites();
    const pending = [db.exec('INSERT INTO t VALUES (1)'), db.exec('INSERT INTO t VALUES (2)')];
    await settle();
    workerSide.close();
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: 'WORKER' });
    await expect(db.exec('SELECT 1')).rejects.toMatchObject({ code: 'WORKER' });
  });

  it('close(): pending requests reject with WORKER, the worker forgets the tab, later calls fail', async () => {
    const { hub, replica } = await makeHub();
    const closed: string[] = [];
    const db = newTestBattery('t', 5_000, closed);
    await attachTo(db, hub);
    replica.stallWrites();
    const pending = db.exec('SELECT 1');
    await settle();
    await db.close();
    await expect(pending).rejects.toMatchObject({ code: 'WORKER' });
    await expect(db.exec('SELECT 1')).rejects.toMatchObject({ code: 'WORKER' });
    await settle();
    expect(hub.tabCount).toBe(0);
    expect(closed).toEqual(['t']);
    await db.close(); // idempotent
  });

  it('leadership: the leader event, a driver per epoch, and only commands of the current epoch reach it', async () => {
    let room!: PeerRoom & { host: { leader(): { startMesh(c: object): void } | null } };
    const { hub } = await makeHub({
      peerRoom: (host) => (room = {
        host, async connect() {}, async disconnect() {}, peers: () => [], isConnected: () => false,
        onLeaderChange() {}, onLink() {}, onMeshStatus() {}, async close() {},
      } as never),
    });
    const db = newTestBattery('lead');
    const { workerSide } = await attachTo(db, hub);
    let leaderEvents = 0;
    db.on('leader', () => leaderEvents++);
    expect(db.isLeader()).toBe(false);
    await db.becomeLeader();
    expect(db.isLeader()).toBe(true);
    expect(leaderEvents).toBe(1);
    await db.connect();
    room.host.leader()!.startMesh({ signalingUrl: 'ws://127.0.0.1:9000/peer', roomId: 'r', selfPeerId: 's', iceServers: [] });
    await settle();
    const driver = RecordingDriver.made.at(-1)!;
    expect(driver.handled.map((m) => m.kind)).toEqual(['mesh-start']);
    // a command stamped with another epoch (e.g. for an earlier leadership) is ignored
    const epoch = driver.epoch;
    workerSide.post({ kind: 'link-send', epoch: epoch - 1, linkId: 'x', bytes: new Uint8Array(1) } as never);
    await settle();
    expect(driver.handled).toHaveLength(1);
    await db.close();
    expect(driver.stopped).toBe(true);
  });

  it('surfaces peer events as Battery events and refreshes getPeers/isConnected', async () => {
    let host!: { emit(e: object): void };
    const peers: string[] = [];
    const { hub } = await makeHub({
      peerRoom: (h) => {
        host = h as never;
        return { async connect() {}, async disconnect() {}, peers: () => [...peers], isConnected: () => peers.length > 0,
          onLeaderChange() {}, onLink() {}, onMeshStatus() {}, async close() {} };
      },
    });
    const db = newTestBattery('t');
    await attachTo(db, hub);
    await db.connect('ws://127.0.0.1:9/x', 'aV3x-9qT_2mPz8Lr0bWc4k');
    const got: unknown[][] = [];
    for (const name of ['sync', 'peer-join', 'peer-ready', 'peer-leave', 'connected', 'reconnecting'] as const) {
      db.on(name, (...args: unknown[]) => got.push([name, ...args]));
    }
    peers.push('peer-1');
    host.emit({ name: 'connected' });
    host.emit({ name: 'peer-join', peerId: 'peer-1' });
    host.emit({ name: 'sync', count: 3, peerId: 'peer-1' });
    host.emit({ name: 'reconnecting', attempt: 2 });
    await settle();
    expect(got).toEqual([['connected'], ['peer-join', 'peer-1'], ['sync', 3, 'peer-1'], ['reconnecting', 2]]);
    expect(db.getPeers()).toEqual(['peer-1']);
    expect(db.isConnected()).toBe(true);
  });

  it('keeps getSyncState current from sync-state pushes and surfaces sync-progress and caught-up', async () => {
    let host!: { emit(e: object): void };
    let states: object[] = [];
    const { hub } = await makeHub({
      peerRoom: (h) => {
        host = h as never;
        return { async connect() {}, async disconnect() {}, peers: () => [], isConnected: () => true, syncState: () => states as never,
          onLeaderChange() {}, onLink() {}, onMeshStatus() {}, async close() {} };
      },
    });
    const db = newTestBattery('t');
    await attachTo(db, hub);
    await db.connect('ws://127.0.0.1:9/x', 'aV3x-9qT_2mPz8Lr0bWc4k');
    expect(db.getSyncState()).toEqual([]);
    const got: unknown[][] = [];
    for (const name of ['sync-state', 'sync-progress', 'caught-up'] as const) db.on(name, (...args: unknown[]) => got.push([name, ...args]));
    const syncing = { peerId: 'peer-1', state: 'syncing', toSend: 0, toReceive: 40 };
    states = [syncing];
    host.emit({ name: 'sync-state', peers: states });
    const progress = { peerId: 'peer-1', rowsDone: 10, rowsTotal: 40, bytesDone: 100, bytesTotal: 400 };
    host.emit({ name: 'sync-progress', ...progress });
    await settle();
    expect(db.getSyncState()).toEqual([syncing]);
    const done = { ...syncing, state: 'caught-up', toReceive: 0 };
    states = [done];
    host.emit({ name: 'sync-state', peers: states });
    host.emit({ name: 'caught-up', peerId: 'peer-1' });
    await settle();
    expect(db.getSyncState()).toEqual([done]);
    expect(got).toEqual([['sync-state', [syncing]], ['sync-progress', progress], ['sync-state', [done]], ['caught-up', 'peer-1']]);
  });

  it('getMailboxState: null without a mailbox, then the state pushed with the mailbox events', async () => {
    let host!: { emit(e: object): void };
    let mailbox: object | null = null;
    const { hub } = await makeHub({
      peerRoom: (h) => {
        host = h as never;
        return { async connect() {}, async disconnect() {}, peers: () => [], isConnected: () => true, mailboxState: () => mailbox as never,
          onLeaderChange() {}, onLink() {}, onMeshStatus() {}, async close() {} };
      },
    });
    const db = newTestBattery('t');
    await attachTo(db, hub);
    await db.connect('ws://127.0.0.1:9/x', 'aV3x-9qT_2mPz8Lr0bWc4k');
    expect(db.getMailboxState()).toBeNull();
    mailbox = { state: 'online', progress: null };
    host.emit({ name: 'mailbox', state: 'online' });
    await settle();
    expect(db.getMailboxState()).toEqual({ state: 'online', progress: null });
    mailbox = { state: 'online', progress: { phase: 'log', done: 3, total: 9 } };
    host.emit({ name: 'mailbox-progress', phase: 'log', done: 3, total: 9 });
    await settle();
    const got = db.getMailboxState();
    expect(got).toEqual({ state: 'online', progress: { phase: 'log', done: 3, total: 9 } });
    got!.progress!.done = 99; // a copy: the caller cannot change the cached state
    expect(db.getMailboxState()!.progress!.done).toBe(3);
  });

  it('debug: peer events, errors and the worker\'s diagnostics reach the sink; a tab without debug gets none', async () => {
    let host!: { emit(e: object): void; reportError(e: BatteryError): void };
    const { hub } = await makeHub({
      peerRoom: (h) => {
        host = h as never;
        return { async connect() {}, async disconnect() {}, peers: () => [], isConnected: () => false,
          onLeaderChange() {}, onLink() {}, onMeshStatus() {}, async close() {} };
      },
    });
    const seen: Diagnostic[] = [];
    const debugged = newTestBattery('debugged', 5_000, [], { diagnostics: (d) => seen.push(d) });
    const quiet = newTestBattery('quiet');
    const quietPort = await attachTo(quiet, hub);
    await attachTo(debugged, hub);
    await debugged.connect('ws://127.0.0.1:9/x', 'aV3x-9qT_2mPz8Lr0bWc4k');
    host.emit({ name: 'sync', count: 3, peerId: 'peer-1' });
    host.reportError(new BatteryErrorClass('AUTH', 'bad challenge'));
    hub.diagnose('persistence', 'dropped a torn log record');
    await settle();
    expect(seen).toEqual([
      { area: 'sync', message: 'merged 3 new cells and deletes from peer-1' },
      { area: 'sync', message: 'error AUTH: bad challenge' },
      { area: 'persistence', message: 'dropped a torn log record' },
    ]);
    expect(quietPort.workerSide.sent.map((m) => (m as { kind: string }).kind)).not.toContain('diagnostic');
  });

  it('moves to a new worker (dedicated mode failover): pending rejected, watches re-registered', async () => {
    const first = await makeHub();
    const db = newTestBattery('t');
    await attachTo(db, first.hub);
    await db.exec('CREATE TABLE t(x)');
    const seen: ExecResult[] = [];
    db.watch('SELECT count(*) AS n FROM t', [], (r) => seen.push(r));
    await settle();
    first.replica.stallWrites();
    const pending = db.exec('INSERT INTO t VALUES (1)');
    await settle();
    db.detach('the tab hosting the database closed');
    await expect(pending).rejects.toMatchObject({ code: 'WORKER' });
    // a request made between hosts waits for the next one
    const second = await makeHub();
    await second.replica.exec('CREATE TABLE t(x)');
    await second.replica.exec('INSERT INTO t VALUES (1), (2)');
    const waiting = db.exec('SELECT count(*) AS n FROM t');
    await attachTo(db, second.hub);
    expect((await waiting).rows).toEqual([{ n: 2 }]);
    await settle();
    expect(seen.map((r) => r.rows[0]!.n)).toEqual([0, 2]);
  });

  it('refuses a second attach when the first hello was refused for VERSION', async () => {
    const { hub } = await makeHub();
    const db = newTestBattery('t', 5_000, [], { protocolVersion: 99 });
    const [tabSide, workerSide] = memoryPortPair();
    hub.attach(workerSide as never);
    await expect(db.attach(tabSide as never)).rejects.toMatchObject({ code: 'VERSION' });
  });
});
