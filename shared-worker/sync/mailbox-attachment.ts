/**
 * The mailbox beside a connected room: asks the signaling host whether it offers one
 * (`GET <path>mailbox`; 404 = no mailbox, nothing more happens; no answer, 408, 429 or 5xx = asked
 * again with backoff until it answers), then keeps a MailboxSync
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
const FIRST_BACKOFF_MS = 1_000;
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

  /** Waits `ms`, or less if stop() comes first. */
  const pause = (ms: number) => Promise.race([delay(ms), new Promise<void>((resolve) => (wake = resolve))]);

  /**
   * Whether the host offers a mailbox. Only a definite answer ends the question: 200 (yes), or a
   * 4xx other than 408/429 (no: 404 is what a host without one answers). A host that cannot be
   * reached (an app opened offline, a server restarting) or answers 408, 429 or 5xx is asked
   * again with the reconnect backoff: giving up there left a member who opened the app offline
   * without its mailbox for the whole session, even once the host was back.
   */
  const offersMailbox = async (httpBase: string): Promise<boolean> => {
    let backoff = FIRST_BACKOFF_MS;
    while (!stopped) {
      try {
        const answer = await fetchFn(`${httpBase}mailbox`);
        if (answer.ok) return true;
        if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) return false;
      } catch {
        // unreachable for now: asked again below
      }
      if (stopped) break;
      await pause(backoff);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
    return false;
  };

  const run = async (): Promise<void> => {
    const { httpBase } = parseSignalingUrl(options.signalingUrl);
    if (!(await offersMailbox(httpBase))) return;
    const keys = await deriveMailboxKeys(options.token);
    const url = `${httpBase.replace(/^http/, 'ws')}mailbox`;
    const name = `mailbox-${keys.mailboxIdHex.slice(0, 16)}`;
    const store = cursorStore(options.replica, name);
    const snapshotStore = replicaSnapshotStore(options.replica, name);
    let backoff = FIRST_BACKOFF_MS;
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
        backoff = FIRST_BACKOFF_MS;
        await closed;
      } catch (err) {
        if (!stopped) options.error(isBatteryError(err) ? err : new BatteryError('SIGNALING', `mailbox: ${(err as Error).message}`));
      }
      await current.stop();
      if (stopped) return;
      await pause(backoff);
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
