/**
 * The mailbox beside a connected room: asks the signaling host whether it offers one
 * (`GET <path>mailbox`; 404 = no mailbox, nothing more happens), then keeps a MailboxSync
 * running, reconnecting with backoff (1 s doubling to 30 s) when the socket drops, until
 * `stop()`. The cursor is stored with the replica (as the stored vector of a pseudo peer named
 * after the mailbox), so a restarted worker resumes where it stopped; so are the snapshot ranges
 * of a download in progress (mailbox-snapshot-store.ts).
 */
import { BatteryError, isBatteryError } from '../protocol/errors.js';
import { parseSignalingUrl } from '../protocol/signaling-url.js';
import type { DurableReplica } from '../replica/contracts/replica-types.js';
import type { VersionVector } from '../replica/contracts/version-vector.js';
import type { MailboxSocketFactory } from './mailbox-client.js';
import { deriveMailboxKeys } from './mailbox-keys.js';
import { replicaSnapshotStore } from './mailbox-snapshot-store.js';
import { MailboxSync, type MailboxCursor, type MailboxCursorStore, type MailboxProgress } from './mailbox-sync.js';

export interface MailboxAttachmentOptions {
  signalingUrl: string;
  token: string;
  replica: DurableReplica;
  status(state: 'online' | 'offline'): void;
  progress(progress: MailboxProgress): void;
  error(err: BatteryError): void;
  fetch?: typeof globalThis.fetch;
  socketFactory?: MailboxSocketFactory;
  /** Waits before a reconnect (tests pass a short one). */
  delay?: (ms: number) => Promise<void>;
}

export interface MailboxAttachment {
  stop(): Promise<void>;
}

/** A key no node id can take (node ids are 16 hex digits), so the cursor never collides with a peer's vector. */
const SEQ_ENTRY = '~seq';
const MAX_BACKOFF_MS = 30_000;

function cursorStore(replica: DurableReplica, name: string): MailboxCursorStore {
  return {
    async load() {
      const stored = replica.getPeerVector(name);
      if (!stored) return undefined;
      const { [SEQ_ENTRY]: seq, ...vector } = stored;
      return { seq: seq ?? 0, vector: vector as VersionVector };
    },
    async save(cursor: MailboxCursor) {
      await replica.setPeerVector(name, { ...cursor.vector, [SEQ_ENTRY]: cursor.seq });
    },
  };
}

export function attachMailbox(options: MailboxAttachmentOptions): MailboxAttachment {
  let stopped = false;
  let sync: MailboxSync | undefined;
  /** Ends the current wait (the socket's life, or the backoff) at stop(). */
  let wake: () => void = () => {};
  const delay = options.delay ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const socketFactory = options.socketFactory ?? ((url: string) => new globalThis.WebSocket(url) as never);
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);

  const run = async (): Promise<void> => {
    const { httpBase } = parseSignalingUrl(options.signalingUrl);
    let offered: Response;
    try {
      offered = await fetchFn(`${httpBase}mailbox`);
    } catch {
      return; // no server answer: the room works without a mailbox
    }
    if (!offered.ok) return;
    const keys = await deriveMailboxKeys(options.token);
    const url = `${httpBase.replace(/^http/, 'ws')}mailbox`;
    const name = `mailbox-${keys.mailboxIdHex.slice(0, 16)}`;
    const store = cursorStore(options.replica, name);
    const snapshotStore = replicaSnapshotStore(options.replica, name);
    let backoff = 1000;
    while (!stopped) {
      let wentOffline: () => void = () => {};
      const closed = new Promise<void>((resolve) => (wentOffline = resolve));
      const status = (s: 'online' | 'offline') => {
        options.status(s);
        if (s === 'offline') wentOffline();
      };
      const current = new MailboxSync({
        url,
        keys,
        replica: options.replica,
        cursorStore: store,
        snapshotStore,
        socketFactory,
        events: { status, progress: options.progress, error: options.error },
      });
      sync = current;
      wake = wentOffline;
      try {
        await current.start();
        backoff = 1000;
        await closed;
      } catch (err) {
        if (!stopped) options.error(isBatteryError(err) ? err : new BatteryError('SIGNALING', `mailbox: ${(err as Error).message}`));
      }
      await current.stop();
      if (stopped) return;
      await Promise.race([delay(backoff), new Promise<void>((resolve) => (wake = resolve))]);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  };
  const running = run().catch((err: unknown) => {
    if (!stopped) options.error(isBatteryError(err) ? err : new BatteryError('SIGNALING', `mailbox: ${(err as Error).message}`));
  });

  return {
    async stop() {
      stopped = true;
      wake();
      await sync?.stop();
      await running;
    },
  };
}
