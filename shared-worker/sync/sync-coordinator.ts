/**
 * Runs peer sync in the worker: one PeerSession per link the leader tab relays, and the fan-out of
 * every durable commit to the ready peers that do not hold it yet. Forwarding commits that came
 * from one peer to the others is what makes a partial mesh (A–B–C) converge.
 *
 * `madeAt` of a live batch is the vector of all commits this coordinator saw before it (plus the
 * replica's vector at start), so a receiver lacking any of those asks for a delta instead of
 * applying out of causal order. Commits still in flight at start make that vector a little too
 * high; the cost is one extra need/delta round trip, never a wrong apply.
 */
import type { RoomKeys } from './room-keys.js';
import { EMPTY_CHANGE_SET, isEmptyChangeSet, mergeChangeSets, type ChangeSet } from '../replica/contracts/change-set.js';
import type { PeerLink } from '../protocol/peer-link.js';
import type { Commit, DurableReplica } from '../replica/contracts/replica-types.js';
import { entryOf, mergeVectors, type VersionVector } from '../replica/contracts/version-vector.js';
import { capVector } from './vector-chain.js';
import { splitStamp, vectorOfChanges } from './delta-pieces.js';
import { authorBatch, OwnSigner, type AuthoredBatch } from './authored-batch.js';
import { PeerSession, type SessionHost } from './peer-session.js';
import type { SyncEvent } from './sync-events.js';
import type { PeerSyncState } from '../protocol/worker-protocol.js';
import { DEFAULT_SYNC_OPTIONS, type SyncOptions } from './sync-options.js';
import { realTimers, type SyncTimers } from './sync-timers.js';

export interface SyncCoordinatorOptions {
  replica: DurableReplica;
  keys: RoomKeys;
  /** Our own PeerJS id, `<roomId>-<nodeId>`. */
  selfPeerId: string;
  emit: (event: SyncEvent) => void;
  timers?: SyncTimers;
  options?: Partial<SyncOptions>;
}

export interface SyncCoordinator {
  /** Takes over a fresh link: authenticates it, then syncs over it until it closes. */
  addLink(link: PeerLink): void;
  /** Says bye on and closes every link (e.g. on disconnect); the coordinator stays usable. */
  removeAll(): void;
  /** removeAll, and stop following the replica. */
  close(): void;
  /** Peer ids of the authenticated peers that finished the hello exchange. */
  peers(): string[];
  /** Every peer with a link, connecting or ready (one entry per peer id). */
  syncState(): PeerSyncState[];
  /** Bytes sent after authentication over all current links (benchmarks). */
  bytesSent(): number;
}

export function createSyncCoordinator(config: SyncCoordinatorOptions): SyncCoordinator {
  const sessions = new Set<PeerSession>();
  /** Ready sessions per remote peer id: tabs hear peer-ready / peer-leave once per peer, not per link. */
  const readyLinks = new Map<string, Set<PeerSession>>();
  const { replica } = config;
  let closed = false;
  let committed = replica.getVector();
  let lastSyncState = '[]';
  /** Per peer id the ready link if there is one (a duplicate dial being set up does not count), else the newest. */
  function syncState(): PeerSyncState[] {
    const chosen = new Map<string, PeerSession>();
    for (const s of sessions) {
      const had = chosen.get(s.peerId);
      if (!had || !had.isReady()) chosen.set(s.peerId, s);
    }
    return [...chosen.values()].map((s) => s.syncState());
  }
  function syncChanged(): void {
    const peers = syncState();
    const json = JSON.stringify(peers);
    if (json === lastSyncState) return;
    lastSyncState = json;
    config.emit({ type: 'sync-state', peers });
  }
  const signer = replica.identity ? new OwnSigner(replica.identity) : null;
  const host: SessionHost = {
    replica,
    signer,
    keys: config.keys,
    selfPeerId: config.selfPeerId,
    timers: config.timers ?? realTimers,
    options: { ...DEFAULT_SYNC_OPTIONS, ...config.options },
    emit: (event) => config.emit(event),
    syncChanged,
    ready: (session) => {
      let set = readyLinks.get(session.peerId);
      if (!set) readyLinks.set(session.peerId, (set = new Set()));
      set.add(session);
      if (set.size === 1) return config.emit({ type: 'peer-ready', peerId: session.peerId });
      // Both sides dialed at once: keep the link dialed by the smaller peer id (both sides agree).
      const dialerOf = (s: PeerSession) => (s.link.initiator ? config.selfPeerId : s.peerId);
      const keep = config.selfPeerId < session.peerId ? config.selfPeerId : session.peerId;
      for (const s of [...set]) if (dialerOf(s) !== keep && set.size > 1) s.close('duplicate link', true);
      // The same side dialed again (its leader tab restarted): the link that just authenticated
      // replaces the older one, which is dead or about to be. Only now, after authentication: the
      // mesh hands out such a link without closing the old one (lib/mesh/peer-mesh.ts).
      if (set.has(session)) for (const s of [...set]) if (s !== session) s.close('replaced by a newer link', true);
    },
    closed: (session, wasReady) => {
      sessions.delete(session);
      syncChanged();
      const set = readyLinks.get(session.peerId);
      if (!wasReady || !set?.delete(session)) return;
      if (set.size === 0) {
        readyLinks.delete(session.peerId);
        config.emit({ type: 'peer-leave', peerId: session.peerId });
      }
    },
  };

  /**
   * A commit as it goes on the wire, made once for every peer: a local commit is one stamp of
   * ours, signed; a remote one is forwarded as the bodies it came in (verbatim) plus its unsigned
   * legacy part.
   */
  const author = (changes: ChangeSet, signed: Commit['signed'], madeAt: VersionVector): Promise<AuthoredBatch> => {
    // Our entry before this commit: no own stamp between it and this one's has live registers.
    const p = authorBatch(changes, signed ?? [], replica.nodeId, signer, (stamp) => splitStamp(stamp, host.options), (n) => replica.isKnownAuthor(n), entryOf(madeAt, replica.nodeId) ?? 0)
      .then(({ sets, legacy }) => ({ signed: sets.map((s) => s.body), changes: legacy }));
    p.catch(() => {}); // each session that sends it reports a failure on its own link
    return p;
  };

  const unsubscribe = replica.onCommit((commit) => {
    // Parked registers (rows of tables not synced here) go on with their bodies like the rest.
    const changes = commit.parked ? mergeChangeSets([commit.changes ?? EMPTY_CHANGE_SET, commit.parked]) : commit.changes;
    if (changes === null || isEmptyChangeSet(changes)) return;
    const madeAt = committed;
    // As far as our vector rose: sets of others' that did not continue their chain here do not
    // count as held (vector-chain.ts), so peers that lack what they skip still ask for it.
    const raised = vectorOfChanges(changes);
    committed = mergeVectors(committed, commit.vectorCeiling ? capVector(raised, commit.vectorCeiling) : raised);
    let batch: Promise<AuthoredBatch> | null = null;
    for (const s of sessions) s.sendLive(madeAt, changes, (batch ??= author(changes, commit.signed, madeAt)));
  });

  function removeAll(): void {
    for (const s of [...sessions]) s.close('disconnect', true);
  }

  return {
    addLink(link) {
      if (closed) return link.close('sync stopped');
      let session: PeerSession;
      try {
        session = new PeerSession(link, host);
      } catch (e) {
        link.close('cannot authenticate');
        config.emit({ type: 'error', code: 'AUTH', message: (e as Error).message, peerId: link.remotePeerId });
        return;
      }
      sessions.add(session);
      syncChanged();
      session.start();
    },
    removeAll,
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      removeAll();
    },
    peers() {
      return [...readyLinks.keys()];
    },
    syncState,
    bytesSent() {
      let n = 0;
      for (const s of sessions) n += s.bytesSent();
      return n;
    },
  };
}
