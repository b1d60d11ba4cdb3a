/** A Battery handle wired to an in-memory Hub, as connectBattery wires it to a worker in the browser. */
import { Battery } from '../../../lib/battery.js';
import type { DiagnosticSink } from '../../../lib/diagnostics.js';
import type { MeshDriver, MeshDriverFactory } from '../../../lib/mesh-driver.js';
import { PROTOCOL_VERSION, type WorkerToLeader } from '../../../shared-worker/protocol/worker-protocol.js';
import type { Hub } from '../../../shared-worker/hub/hub.js';
import { memoryPortPair, type MemoryPort } from '../shared-worker/hub/memory-port.js';

export class RecordingDriver implements MeshDriver {
  static made: RecordingDriver[] = [];
  handled: WorkerToLeader[] = [];
  stopped = false;
  constructor(readonly epoch: number) {}
  handle(m: WorkerToLeader) {
    this.handled.push(m);
  }
  stop() {
    this.stopped = true;
  }
}

const recordingDriver: MeshDriverFactory = ({ epoch }) => {
  const d = new RecordingDriver(epoch);
  RecordingDriver.made.push(d);
  return d;
};

export function newTestBattery(
  tabId: string, requestTimeoutMs = 5_000, closed: string[] = [], o: { protocolVersion?: number; diagnostics?: DiagnosticSink } = {},
): Battery {
  return new Battery({
    hello: {
      kind: 'hello', v: o.protocolVersion ?? PROTOCOL_VERSION, tabId, dbName: 'test-db', wasmUrl: 'memory:', durability: 'strict',
      ...(o.diagnostics ? { debug: true } : {}),
    },
    ...(o.diagnostics ? { diagnostics: o.diagnostics } : {}),
    requestTimeoutMs,
    meshDriver: recordingDriver,
    signalingUrl: 'ws://127.0.0.1:9000/peer',
    token: 'aV3x-9qT_2mPz8Lr0bWc4k',
    onClose: () => {
      closed.push(tabId);
    },
  });
}

/** Attaches `battery` to `hub` through a fresh in-memory port pair; returns the hub-side port. */
export async function attachTo(battery: Battery, hub: Hub): Promise<{ tabSide: MemoryPort; workerSide: MemoryPort }> {
  const [tabSide, workerSide] = memoryPortPair();
  hub.attach(workerSide as never);
  await battery.attach(tabSide as never);
  return { tabSide, workerSide };
}
