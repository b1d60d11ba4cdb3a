/**
 * connectBattery() in shared mode with the browser pieces faked in Node: SharedWorker (a Hub
 * per "worker instance", reached through real MessageChannels), navigator.locks (FakeLocks).
 * The real-browser behaviour is covered by spec/browser; this pins the restart logic.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectBattery } from '../../../lib/connect-battery.js';
import type { Battery } from '../../../lib/battery.js';
import { fakeBrowser } from './fake-browser.js';
import type { ExecResult } from '../../../shared-worker/replica/contracts/replica-types.js';
import { settle } from '../shared-worker/hub/memory-port.js';

const options = { dbName: 'node-db', mode: 'shared' as const, workerUrl: 'http://127.0.0.1/w.js', wasmUrl: 'http://127.0.0.1/s.wasm', requestTimeoutMs: 5_000 };

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

describe('connectBattery (shared mode, faked browser)', () => {
  const opened: Battery[] = [];
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
    vi.unstubAllGlobals();
  });

  it('two tabs share one worker, one of them leads', async () => {
    const { instances } = fakeBrowser();
    const a = await connectBattery(options);
    const b = await connectBattery(options);
    opened.push(a, b);
    expect(instances).toHaveLength(1);
    await a.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await b.exec("INSERT INTO t VALUES (1, 'x')");
    expect((await a.exec('SELECT v FROM t')).rows).toEqual([{ v: 'x' }]);
    await until(() => a.isLeader() || b.isLeader());
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
  });

  it('migrations: the first tab applies them, a tab with the same list changes nothing, an older list is refused with SCHEMA', async () => {
    fakeBrowser();
    const v1 = ['CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)', { sql: "INSERT INTO notes VALUES ('n1', 'hello')" }];
    const v2 = [...v1, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'];
    const a = await connectBattery({ ...options, migrations: v1 });
    opened.push(a);
    expect(a.getSchemaVersion()).toBe(2);
    await a.enableSync('notes');
    const b = await connectBattery({ ...options, migrations: v2 });
    opened.push(b);
    expect(b.getSchemaVersion()).toBe(3);
    await a.exec('SELECT 1');
    expect(a.getSchemaVersion()).toBe(3);
    const again = await connectBattery({ ...options, migrations: v2 });
    opened.push(again);
    expect((await again.exec('SELECT * FROM notes')).rows).toEqual([{ id: 'n1', body: 'hello', pinned: 0 }]);
    await expect(connectBattery({ ...options, migrations: v1 })).rejects.toMatchObject({
      code: 'SCHEMA',
      message: expect.stringMatching(/defines 2 migration\(s\) but the database is at schema version 3/),
    });
    await expect(connectBattery({ ...options, migrations: [...v2, 'ALTER TABLE notes RENAME COLUMN body TO text'] })).rejects.toMatchObject({
      code: 'SCHEMA',
      message: expect.stringMatching(/^migration 3 \(step 4\) failed and was rolled back: .*renaming/),
    });
    expect(b.getSchemaVersion()).toBe(3);
  });

  it('refuses a malformed migrations option before opening anything', async () => {
    const { instances } = fakeBrowser();
    await expect(connectBattery({ ...options, migrations: 'CREATE TABLE t (x)' as never })).rejects.toMatchObject({ code: 'SCHEMA' });
    await expect(connectBattery({ ...options, migrations: [{ sql: 3 }] as never })).rejects.toMatchObject({ code: 'SCHEMA', message: expect.stringMatching(/migrations"\[0\]/) });
    expect(instances).toHaveLength(0);
  });

  it('refuses bad options before opening anything', async () => {
    const { instances } = fakeBrowser();
    await expect(connectBattery({ ...options, mode: 'both' as never })).rejects.toMatchObject({ code: 'BAD_OP' });
    expect(instances).toHaveLength(0);
  });

  it('when the worker dies silently, pending calls reject with WORKER and the tab moves to a new worker', async () => {
    const { instances } = fakeBrowser();
    const db = await connectBattery(options);
    opened.push(db);
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await db.exec('INSERT INTO t VALUES (1)');
    const seen: ExecResult[] = [];
    db.watch('SELECT count(*) AS n FROM t', [], (r) => seen.push(r));
    await settle();
    const errors: string[] = [];
    db.on('error', (e) => errors.push(e.code));
    instances[0]!.kill();
    const pending = db.exec('SELECT 1');
    await expect(pending).rejects.toMatchObject({ code: 'WORKER' });
    // the acknowledged writes are in storage; the new worker reopens them
    await until(() => instances.length === 2);
    expect((await db.exec('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 1 }]);
    await until(() => seen.length >= 2);
    expect(seen.map((r) => r.rows[0]!.n)).toEqual([1, 1]);
    expect(errors).toEqual([]);
  });
});
