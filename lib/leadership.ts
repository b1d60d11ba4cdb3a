/**
 * This tab's leadership as the Battery handle sees it. The tab is leader from the moment it holds
 * the leader lock (leader-election.ts); the worker then hands it an epoch (once per worker
 * connection), and a MeshDriver for that epoch carries out the worker's mesh commands. Commands
 * stamped with another epoch, or arriving from a replaced worker, are dropped here.
 */
import { describeMeshReport, type DiagnosticSink } from './diagnostics.js';
import type { MeshDriver, MeshDriverFactory } from './mesh-driver.js';
import type { WorkerClient } from './worker-client.js';
import type { LeaderToWorker, WorkerToLeader } from '../shared-worker/protocol/worker-protocol.js';

export class Leadership {
  private leader = false;
  private epoch = 0;
  private driver: MeshDriver | null = null;
  /** The worker connection that granted the current epoch. */
  private epochClient: WorkerClient | null = null;

  constructor(
    private readonly meshDriver: MeshDriverFactory,
    private readonly current: () => WorkerClient | null,
    private readonly diagnostics?: DiagnosticSink,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** Returns false if already leader (no second `leader` event). */
  begin(): boolean {
    if (this.leader) return false;
    this.leader = true;
    return true;
  }

  /** Gets an epoch from the current worker, once per worker; without one, the next attach claims. */
  async claim(): Promise<void> {
    const client = this.current();
    if (!this.leader || !client || this.epochClient === client) return;
    this.epochClient = client;
    let epoch: number;
    try {
      ({ epoch } = await client.request({ op: 'claimLeader' }));
    } catch (e) {
      if (this.epochClient === client) this.epochClient = null;
      if (client === this.current()) throw e;
      return; // that worker is gone; the next attach claims again
    }
    if (!this.leader || client !== this.current()) return;
    this.epoch = epoch;
    this.driver?.stop();
    this.driver = this.meshDriver({
      epoch,
      post: (report: LeaderToWorker) => {
        if (this.epoch === epoch && report.epoch === epoch && this.current() === client) {
          this.describe(report);
          client.post(report);
        }
      },
    });
  }

  command(from: WorkerClient, m: WorkerToLeader): void {
    if (!this.leader || m.epoch !== this.epoch || from !== this.epochClient || !this.driver) return;
    if (m.kind === 'mesh-start') this.diagnostics?.({ area: 'mesh', message: `joining ${m.signalingUrl} as ${m.selfPeerId} (leader epoch ${m.epoch})` });
    if (m.kind === 'mesh-stop') this.diagnostics?.({ area: 'mesh', message: `leaving the mesh (leader epoch ${m.epoch})` });
    this.driver.handle(m);
  }

  private describe(report: LeaderToWorker): void {
    if (!this.diagnostics) return;
    const message = describeMeshReport(report);
    if (message !== null) this.diagnostics({ area: 'mesh', message });
  }

  /** The worker went away: its links went with it. */
  workerLost(): void {
    this.driver?.stop();
    this.driver = null;
    this.epochClient = null;
  }

  end(): void {
    this.workerLost();
    this.leader = false;
  }
}
