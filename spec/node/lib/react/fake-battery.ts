/** A Battery stand-in for the React hooks' tests: watches are recorded and fed by hand. */
import { Emitter } from '../../../../lib/emitter.js';
import type { Battery, BatteryError, BatteryEvents, ExecResult, MailboxSyncState, PeerSyncState, SqlParams } from '../../../../lib/index.js';

export interface FakeWatch {
  sql: string;
  params: SqlParams | null | undefined;
  callback: (r: ExecResult) => void;
  onError?: (e: BatteryError) => void;
  stopped: boolean;
}

export class FakeBattery {
  readonly watches: FakeWatch[] = [];
  readonly events = new Emitter<BatteryEvents>();
  peers: string[] = [];
  connected = false;
  syncState: PeerSyncState[] = [];
  mailbox: MailboxSyncState | null = null;
  closed = 0;

  watch(sql: string, params: SqlParams | null | undefined, callback: (r: ExecResult) => void, onError?: (e: BatteryError) => void): () => void {
    const w: FakeWatch = { sql, params, callback, ...(onError ? { onError } : {}), stopped: false };
    this.watches.push(w);
    return () => {
      w.stopped = true;
    };
  }

  live(): FakeWatch[] {
    return this.watches.filter((w) => !w.stopped);
  }

  getPeers(): string[] {
    return [...this.peers];
  }

  isConnected(): boolean {
    return this.connected;
  }

  getSyncState(): PeerSyncState[] {
    return this.syncState.map((p) => ({ ...p }));
  }

  getMailboxState(): MailboxSyncState | null {
    return this.mailbox && { ...this.mailbox };
  }

  on<K extends keyof BatteryEvents>(e: K, l: (...a: BatteryEvents[K]) => void): void {
    this.events.on(e, l);
  }

  off<K extends keyof BatteryEvents>(e: K, l: (...a: BatteryEvents[K]) => void): void {
    this.events.off(e, l);
  }

  async close(): Promise<void> {
    this.closed++;
  }

  asBattery(): Battery {
    return this as unknown as Battery;
  }
}
