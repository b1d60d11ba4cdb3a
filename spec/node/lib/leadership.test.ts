import { describe, expect, it } from 'vitest';
import { Leadership } from '../../../lib/leadership.js';
import type { WorkerClient } from '../../../lib/worker-client.js';
import type { Diagnostic } from '../../../lib/diagnostics.js';
import type { MeshDriverFactory } from '../../../lib/mesh-driver.js';
import type { WorkerToLeader } from '../../../shared-worker/protocol/worker-protocol.js';

/** A WorkerClient stand-in that grants epochs 1, 2, 3, ... */
function fakeClient(grants: { next: number }, posted: unknown[] = []): WorkerClient {
  return {
    request: async () => ({ epoch: grants.next++ }),
    post: (m: unknown) => posted.push(m),
  } as unknown as WorkerClient;
}

describe('Leadership (tab side)', () => {
  it('claims one epoch per worker connection and drops commands from other epochs or workers', async () => {
    const handled: Array<[number, WorkerToLeader]> = [];
    const stopped: number[] = [];
    const factory: MeshDriverFactory = ({ epoch }) => ({ handle: (m) => handled.push([epoch, m]), stop: () => stopped.push(epoch) });
    const grants = { next: 1 };
    let current: WorkerClient | null = fakeClient(grants);
    const first = current;
    const l = new Leadership(factory, () => current);
    await l.claim();
    expect(grants.next).toBe(1); // not leader yet: nothing claimed
    expect(l.begin()).toBe(true);
    expect(l.begin()).toBe(false);
    await l.claim();
    await l.claim(); // same worker: no second claim
    expect(grants.next).toBe(2);
    l.command(first, { kind: 'mesh-stop', epoch: 1 });
    l.command(first, { kind: 'mesh-stop', epoch: 7 });
    expect(handled).toEqual([[1, { kind: 'mesh-stop', epoch: 1 }]]);

    // the worker is replaced: the old driver stops, the new worker grants a new epoch
    l.workerLost();
    current = fakeClient(grants);
    await l.claim();
    expect(stopped).toEqual([1]);
    l.command(first, { kind: 'mesh-stop', epoch: 2 }); // right epoch, wrong (old) worker
    l.command(current, { kind: 'mesh-stop', epoch: 2 });
    expect(handled.map(([e]) => e)).toEqual([1, 2]);
    l.end();
    expect(l.isLeader).toBe(false);
    expect(stopped).toEqual([1, 2]);
  });

  it("stamps the driver's reports only while its epoch is current", async () => {
    const posted: unknown[] = [];
    let post!: (m: never) => void;
    const factory: MeshDriverFactory = (o) => {
      post = o.post as never;
      return { handle() {}, stop() {} };
    };
    const client = fakeClient({ next: 5 }, posted);
    const l = new Leadership(factory, () => client);
    l.begin();
    await l.claim();
    post({ kind: 'mesh-status', epoch: 5, status: { signaling: 'open' } } as never);
    post({ kind: 'mesh-status', epoch: 4, status: { signaling: 'open' } } as never);
    expect(posted).toEqual([{ kind: 'mesh-status', epoch: 5, status: { signaling: 'open' } }]);
  });

  it('debug: mesh commands and the reports that say something about the mesh become mesh diagnostics', async () => {
    let post!: (m: never) => void;
    const factory: MeshDriverFactory = (o) => {
      post = o.post as never;
      return { handle() {}, stop() {} };
    };
    const client = fakeClient({ next: 3 });
    const seen: Diagnostic[] = [];
    const l = new Leadership(factory, () => client, (d) => seen.push(d));
    l.begin();
    await l.claim();
    l.command(client, { kind: 'mesh-start', epoch: 3, signalingUrl: 'ws://127.0.0.1:9/', roomId: 'r', selfPeerId: 'r-self', signalingToken: 'f'.repeat(32), iceServers: [] });
    post({ kind: 'mesh-status', epoch: 3, status: { signaling: 'reconnecting', attempt: 2 } } as never);
    post({ kind: 'link-open', epoch: 3, linkId: 'l1', remotePeerId: 'r-peer', initiator: true } as never);
    post({ kind: 'link-frame', epoch: 3, linkId: 'l1', bytes: new Uint8Array(1) } as never);
    post({ kind: 'link-closed', epoch: 3, linkId: 'l1', reason: 'peer left' } as never);
    post({ kind: 'mesh-status', epoch: 2, status: { signaling: 'open' } } as never); // stale epoch: dropped, not described
    l.command(client, { kind: 'mesh-stop', epoch: 3 });
    expect(seen).toEqual([
      { area: 'mesh', message: 'joining ws://127.0.0.1:9/ as r-self (leader epoch 3)' },
      { area: 'mesh', message: 'signaling reconnecting (attempt 2)' },
      { area: 'mesh', message: 'link l1 open to r-peer (dialled)' },
      { area: 'mesh', message: 'link l1 closed: peer left' },
      { area: 'mesh', message: 'leaving the mesh (leader epoch 3)' },
    ]);
  });
});

