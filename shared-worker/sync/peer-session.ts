/**
 * One authenticated link to one peer: handshake, hello, delta streaming, live batches, acks and
 * heartbeats. The coordinator (sync-coordinator.ts) owns the sessions and feeds them commits.
 *
 * Three queues keep it responsive: `inbound` authenticates, reassembles and opens frames in order
 * (and handles pings and acks at once), `handling` applies messages in order (a delta piece is
 * opened while the previous one is being applied and made durable), `outbound` sends delta pieces
 * and live batches in order, at most `sendWindow` ahead of the peer's acks (send-window.ts).
 *
 * Any error closes THIS link only, with one `error` event naming the peer: AUTH (challenge or a
 * sealed frame failed), BAD_OP (malformed/oversized input, or applyChanges refused it), SKEW (the
 * peer's clock is beyond maxClockDriftMs: talking on would only repeat the refusal; it reconnects
 * when the mesh redials, and syncs once its clock is sane), SCHEMA, QUOTA, VERSION. Nothing of a
 * rejected message is applied (validation precedes apply; applyChanges is all-or-nothing).
 */
import { FrameReader, FrameWriter } from './framing.js';
import { PeerAuthenticator } from './peer-auth.js';
import { encodePeerMessage, PEER_LIMITS, PROTOCOL_VERSION, validatePeerMessage, type PeerMessage } from './peer-protocol.js';
import type { RoomKeys } from './room-keys.js';
import { openSealedChannel } from './sealed-channel.js';
import { EMPTY_CHANGE_SET, isEmptyChangeSet, mergeChangeSets, type ChangeSet } from '../replica/contracts/change-set.js';
import { BatteryError, isBatteryError } from '../protocol/errors.js';
import { parsePeerId } from '../protocol/ids.js';
import type { PeerLink } from '../protocol/peer-link.js';
import type { ApplyOptions, DurableReplica } from '../replica/contracts/replica-types.js';
import { covers, mergeVectors, vectorsEqual, type VersionVector } from '../replica/contracts/version-vector.js';
import { deltaAnswer, pieceSize, splitStamp, readDelta, restrictToTables, vectorOfChanges } from './delta-pieces.js';
import { openBatch, type AuthoredBatch, type OpenedBatch, type OwnSigner } from './authored-batch.js';
import { capVector, PartsTally, vectorCeiling } from './vector-chain.js';
import type { PeerSyncState } from '../protocol/worker-protocol.js';
import { DeltaProgress, OutgoingDelta } from './sync-progress.js';
import { compareSchemas } from './compare-schemas.js';
import { unsharedChanges, unsharedParts } from './unshared-tables.js';
import { durableRead } from './durable-read.js';
import { Heartbeat } from './heartbeat.js';
import { SendWindow } from './send-window.js';
import type { SyncEvent } from './sync-events.js';
import type { SyncOptions } from './sync-options.js';
import type { SyncTimers } from './sync-timers.js';

export interface SessionHost {
  readonly replica: DurableReplica;
  readonly keys: RoomKeys;
  readonly selfPeerId: string;
  readonly timers: SyncTimers;
  readonly options: SyncOptions;
  /** Signs our own registers (null: a replica without keys, which sends everything unsigned). */
  readonly signer: OwnSigner | null;
  emit(event: SyncEvent): void;
  /** The hello exchange finished (the coordinator emits peer-ready, once per peer). */
  ready(session: PeerSession): void;
  /** The link is gone (the coordinator emits peer-leave when it was the peer's last ready link). */
  closed(session: PeerSession, wasReady: boolean): void;
  /** This session's syncState() may have changed (the coordinator emits sync-state if it did). */
  syncChanged(session: PeerSession): void;
}

type State = 'auth' | 'hello' | 'ready' | 'closed';

/**
 * What we keep of a peer's vectors (its acks, its deltas' upTo, its batches' madeAt) is merged
 * entry-wise; the merge may never hold more node ids than a hello may carry, or a peer could
 * grow our memory and its stored vector without end (docs/security.md, "Bounded per-peer state").
 * Past the cap the peer loses this link; our own vector is untouched.
 */
function mergeCapped(a: VersionVector, b: VersionVector, what: string): VersionVector {
  const merged = mergeVectors(a, b);
  if (Object.keys(merged).length > PEER_LIMITS.maxVectorEntries) {
    throw new BatteryError('BAD_OP', `peer's ${what} would hold more than ${PEER_LIMITS.maxVectorEntries} node ids`, { limit: 'vector' });
  }
  return merged;
}

/**
 * The stored peer vector (what the next hello's delta starts from after a restart) is written at
 * most this often, not per ack: each write copies the whole vector.
 */
export const PEER_VECTOR_PERSIST_MS = 1_000;

/**
 * Messages a peer may have queued with us beyond its send window: its hello, one need, a bye,
 * and one message crossing our ack. An honest sender waits for our acks after `sendWindow` data
 * messages (send-window.ts); one that does not would make us hold every decoded message.
 */
const RECEIVE_MARGIN = 4;

/**
 * Messages we may have waiting in the writer for a peer that does not read: our data (at most
 * sendWindow), acks of its data (at most its window), a need, a ping, a pong, hello and bye.
 * Pings and pongs are coalesced (one of each at most), so only a peer that stops reading while
 * it keeps sending data can reach this.
 */
const writeQueueLimit = (sendWindow: number) => 4 * sendWindow + 16;

export class PeerSession {
  private state: State = 'auth';
  private readonly auth: PeerAuthenticator;
  private writer: FrameWriter | null = null;
  private reader: FrameReader | null = null;
  private inbound: Promise<void> = Promise.resolve();
  private handling: Promise<void> = Promise.resolve();
  /** Acks in order (a delta piece's waits until the piece is stored: see ack()). */
  private acking: Promise<void> = Promise.resolve();
  /** Delta pieces and live batches, in order, paced by the peer's acks. */
  private outbound: Promise<void> = Promise.resolve();
  private readonly window: SendWindow;
  /** Data messages from the peer handled so far (sent back in every ack). */
  private handled = 0;
  private authTimer: unknown = null;
  private readonly heartbeat: Heartbeat;
  /** Delta answers (to our hello and our needs) not yet finished; live batches wait for them. */
  private deltasAwaited = 0;
  /** A delta answer of ours is still queued or being sent... */
  private deltaQueued = false;
  /** ...or was, up to this count of data messages sent. */
  private deltaSentAt = 0;
  private common: ReadonlySet<string> = new Set();
  /** What the peer is known to hold: its hello, its acks, and what it sent us. */
  private remoteVector: VersionVector = {};
  /**
   * What we hold of the peer's state: its complete deltas' `upTo`, and the madeAt + stamps of its
   * live batches we applied. Our replica's own vector can lack entries whose registers were all
   * superseded (never sent), and live batches would then ask for deltas forever.
   */
  private heldFromPeer: VersionVector = {};
  remoteNodeId: string | null = null;
  private persisted = false;
  /** The running count of the peer's last ack: each ack must be the next one (acks are paced like data). */
  private acksHeard = 0;
  /** A write of the stored peer vector is under way or waits for PEER_VECTOR_PERSIST_MS. */
  private persistTimer: unknown = null;
  private persistPending = false;
  private lastPersistAt = Number.NEGATIVE_INFINITY;
  /** Messages from the peer queued for (or in) `handle`: bounded by its send window. */
  private queued = 0;
  /** A ping or pong of ours is still waiting in the writer: another would say nothing new. */
  private readonly heartbeatQueued = { ping: false, pong: false };
  /** Rows of our delta answers not yet acknowledged, and progress of the peer's delta coming in. */
  private readonly outgoing = new OutgoingDelta();
  private incoming: DeltaProgress | null = null;
  private caughtUp = false;
  /** Parts of others' cut stamps this peer sent (vector-chain.ts). */
  private readonly parts = new PartsTally();

  constructor(
    readonly link: PeerLink,
    private readonly host: SessionHost,
  ) {
    this.auth = new PeerAuthenticator(link, host.keys, host.selfPeerId);
    this.window = new SendWindow(host.options.sendWindow);
    const { timers, options } = host;
    this.heartbeat = new Heartbeat(timers, options.pingIntervalMs, options.missedPingsAllowed, (n) => this.sendHeartbeat({ t: 'ping', n }), () =>
      this.close('heartbeat timeout', false),
    );
  }

  get peerId(): string {
    return this.link.remotePeerId;
  }

  /** A method, not a field test: the state changes across awaits and TS would narrow it away. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  syncState(): PeerSyncState {
    const toSend = this.outgoing.pending();
    const toReceive = this.incoming?.remaining() ?? 0;
    const busy = this.deltasAwaited > 0 || this.deltaQueued || toSend > 0;
    const state = this.state === 'ready' ? (busy ? 'syncing' : 'caught-up') : 'connecting';
    return { peerId: this.peerId, state, toSend, toReceive };
  }

  /** Tells the coordinator, and says caught-up the first time this link gets there. */
  private syncChanged(): void {
    if (this.isClosed()) return;
    this.host.syncChanged(this);
    if (!this.caughtUp && this.syncState().state === 'caught-up') {
      this.caughtUp = true;
      this.host.emit({ type: 'caught-up', peerId: this.peerId });
    }
  }

  /** Bytes this session handed to its link after authentication (benchmarks). */
  bytesSent(): number {
    return this.writer?.bytesSent ?? 0;
  }

  start(): void {
    this.link.onFrame((frame) => {
      this.inbound = this.inbound.then(() => this.onFrame(frame)).catch((e) => this.fail(e));
    });
    this.link.onClose((reason) => this.close(reason ?? 'link closed', false));
    this.authTimer = this.host.timers.setTimeout(() => this.fail(new BatteryError('AUTH', 'peer did not authenticate in time')), this.host.options.authTimeoutMs);
    this.auth.start();
  }

  /**
   * Sends a committed batch unless the peer already holds all of it (e.g. it came from there).
   * `changes` says what the commit holds; `batch` is what goes on the wire (signed once for all peers).
   */
  sendLive(madeAt: VersionVector, changes: ChangeSet, batch: Promise<AuthoredBatch>): void {
    if (this.state !== 'ready') return;
    // Every table counts: signed sets go whole, and the peer keeps the rows of tables it does
    // not share with us (unshared-tables.ts); only the unsigned part is cut to the shared tables.
    if (isEmptyChangeSet(changes) || covers(this.remoteVector, vectorOfChanges(changes))) return;
    this.sendData(async () => {
      const { signed, changes: unsigned } = await batch;
      // Usually one message; a batch too big for one is sent in stamp-ordered pieces, all made at
      // the same madeAt (none of them depends on another).
      const legacy = restrictToTables(unsigned, this.common);
      const pieces = isEmptyChangeSet(legacy) ? [] : splitStamp(legacy, this.host.options);
      const msgs = pieces.map((piece): PeerMessage => ({ t: 'live', madeAt, changes: piece, signed: [] }));
      for (const body of signed) msgs.push({ t: 'live', madeAt, changes: EMPTY_CHANGE_SET, signed: [body] });
      return msgs;
    });
  }

  close(reason: string, sayBye: boolean): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.window.close();
    this.host.timers.clearTimeout(this.authTimer);
    this.heartbeat.stop();
    if (this.persistTimer !== null) {
      this.host.timers.clearTimeout(this.persistTimer);
      this.persistTimer = null;
      this.persistNow();
    }
    if (sayBye && this.writer) {
      const writer = this.writer;
      const hangUp = () => this.link.close(reason);
      void writer.send({ t: 'bye', reason } satisfies PeerMessage).then(hangUp, hangUp);
    } else {
      this.link.close(reason);
    }
    this.host.closed(this, wasReady);
  }

  private fail(e: unknown): void {
    if (this.state === 'closed') return;
    const err = isBatteryError(e) ? e : new BatteryError('BAD_OP', e instanceof Error ? e.message : String(e));
    if (err.code === 'CLOSED') return this.close('link closed', false);
    this.host.emit({ type: 'error', code: err.code, message: `peer ${this.peerId}: ${err.message}`, peerId: this.peerId, ...(err.detail ? { detail: err.detail } : {}) });
    this.close(`${err.code}: ${err.message}`, false);
  }

  private async onFrame(frame: Uint8Array): Promise<void> {
    if (this.state === 'closed') return;
    this.heartbeat.heard();
    if (this.state === 'auth') {
      const result = await this.auth.handle(frame);
      if (result === null || this.isClosed()) return;
      const channel = await openSealedChannel(this.host.keys.encKey, result, this.link.initiator);
      if (this.isClosed()) return; // the link went away while the keys were derived
      this.writer = new FrameWriter(this.link, channel, this.host.options.framing);
      this.reader = new FrameReader(channel, this.host.options.framing);
      this.state = 'hello';
      this.host.timers.clearTimeout(this.authTimer);
      this.heartbeat.start();
      const { replica } = this.host;
      const { fingerprints, vector } = await durableRead(replica, () => ({ fingerprints: replica.fingerprints(), vector: replica.getVector() }));
      this.send({ t: 'hello', protocol: PROTOCOL_VERSION, nodeId: replica.nodeId, fingerprints, vector });
      return;
    }
    const decoded = await this.reader!.push(frame);
    if (decoded === null || this.isClosed()) return;
    const msg = validatePeerMessage(decoded.message);
    if (msg.t === 'ping') return this.sendHeartbeat({ t: 'pong', n: msg.n });
    if (msg.t === 'pong') return;
    // Acks pace our sending: handled on arrival, not behind our own (slow) applies.
    if (msg.t === 'ack') return this.onAck(msg.vector, msg.handled);
    const limit = this.host.options.sendWindow + RECEIVE_MARGIN;
    if (++this.queued > limit) {
      throw new BatteryError('BAD_OP', `peer sent more than ${limit} messages ahead of our acks (it ignores the send window)`, { limit: 'sendWindow' });
    }
    // Signatures are checked as a message arrives, while earlier ones are still being applied
    // (bounded by the send window, like the messages themselves); nothing is applied before.
    const opened = msg.t === 'delta' || msg.t === 'live' ? openBatch(msg, this.host.replica.identity ? this.host.replica.nodeId : '', (n) => this.host.replica.isKnownAuthor(n)) : null;
    opened?.catch(() => {}); // handled (and reported) when its turn comes in `handle`
    this.handling = this.handling
      .then(() => this.handle(msg, opened))
      .finally(() => { this.queued--; })
      .catch((e) => this.fail(e));
  }

  private send(msg: PeerMessage): Promise<void> | null {
    if (this.state === 'closed' || this.writer === null) return null;
    const limit = writeQueueLimit(this.host.options.sendWindow);
    if (this.writer.queuedMessages() >= limit) {
      this.fail(new BatteryError('BAD_OP', `peer does not read: ${limit} messages wait to be sent to it`, { limit: 'writeQueue' }));
      return null;
    }
    const written = this.writer.send(encodePeerMessage(msg));
    written.catch((e) => this.fail(e));
    return written;
  }

  private sendHeartbeat(msg: Extract<PeerMessage, { t: 'ping' | 'pong' }>): void {
    if (this.heartbeatQueued[msg.t]) return;
    const written = this.send(msg);
    if (written === null) return;
    this.heartbeatQueued[msg.t] = true;
    const done = () => { this.heartbeatQueued[msg.t] = false; };
    written.then(done, done);
  }

  /** Queues data messages behind earlier ones; `make` runs when their turn comes. */
  private sendData(make: () => PeerMessage[] | Promise<PeerMessage[]>, sent?: () => void): void {
    this.outbound = this.outbound
      .then(async () => {
        const msgs = await make();
        this.outgoing.queue(msgs);
        for (const msg of msgs) {
          if (!(await this.window.acquire())) return;
          this.send(msg);
          this.outgoing.sent(msg, this.window.sentCount());
        }
        sent?.();
      })
      .catch((e) => this.fail(e));
  }

  private async handle(msg: PeerMessage, opened: Promise<OpenedBatch> | null): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state !== 'ready' && msg.t !== 'hello' && msg.t !== 'bye') throw new BatteryError('BAD_OP', `${msg.t} before hello`);
    switch (msg.t) {
      case 'hello':
        return this.onHello(msg);
      case 'delta':
        if (this.deltasAwaited === 0) throw new BatteryError('BAD_OP', 'delta that nobody asked for');
        if (this.incoming === null) {
          // The announced total is what toReceive reports while the pieces are applied.
          this.incoming = new DeltaProgress(this.peerId, msg.total);
          this.syncChanged();
        }
        // Merged in memory now (after its signature checks); acknowledged once stored, while the
        // next piece is merged.
        const { piece, stored } = await this.applyPiece(opened!);
        if (this.isClosed()) return;
        const progress = this.incoming.applied(pieceSize(piece), msg.last);
        if (progress.rowsTotal > 0) this.host.emit({ type: 'sync-progress', ...progress });
        if (msg.upTo !== null) {
          this.deltasAwaited--;
          this.heldFromPeer = mergeCapped(this.heldFromPeer, msg.upTo, 'delta upTo');
          this.incoming = null;
        }
        // A piece storage refuses closes the link at once, before a later piece is merged
        // (applyChangesStaged refuses those meanwhile); the peer sends them again next time.
        stored?.catch((e: unknown) => this.fail(e));
        this.ack(stored).then(() => this.syncChanged(), (e: unknown) => this.fail(e));
        return;
      case 'live':
        // A delta we are waiting for holds this batch already (the peer committed it before it
        // answered); applying it now could put it ahead of changes it was made on.
        if (this.deltasAwaited > 0) return this.ack();
        const known = await this.known();
        if (this.isClosed()) return;
        if (!covers(known, msg.madeAt)) {
          this.deltasAwaited++;
          // Acks of the delta before go out first (they wait for storage): the peer refuses a
          // need that overtakes them.
          await this.acking;
          if (this.isClosed()) return;
          this.send({ t: 'need', since: known });
          await this.ack();
          return this.syncChanged();
        }
        const { held } = await this.apply(opened!);
        if (this.isClosed()) return;
        this.heldFromPeer = mergeCapped(mergeCapped(this.heldFromPeer, msg.madeAt, 'madeAt'), held, 'batches');
        return this.ack();
      case 'need':
        // An honest peer asks only after it handled (and acked) the last piece of our previous
        // answer (it drops live batches until then); more would make us rescan on demand.
        if (this.deltaQueued || !this.deltaAcked()) throw new BatteryError('BAD_OP', 'need before our previous delta was acknowledged');
        return this.sendDelta(msg.since);
      case 'ack':
        return; // handled on arrival (onFrame)
      case 'bye':
        return this.close(`peer left: ${msg.reason}`, false);
      case 'ping':
      case 'pong':
        return; // answered on arrival (onFrame)
      default: {
        const unhandled: never = msg;
        throw new BatteryError('BAD_OP', `unhandled message ${(unhandled as PeerMessage).t}`);
      }
    }
  }

  private onHello(msg: Extract<PeerMessage, { t: 'hello' }>): void {
    if (this.state !== 'hello') throw new BatteryError('BAD_OP', 'second hello');
    // Peer ids are `<roomId>-<replica node id>`: a hello for another node would file its vector
    // (and our acks) under the wrong name.
    if (parsePeerId(this.peerId)?.nodeId !== msg.nodeId) throw new BatteryError('BAD_OP', `hello from node ${msg.nodeId} on the link of ${this.peerId}`);
    const { common, excluded } = compareSchemas(this.host.replica.fingerprints(), msg.fingerprints);
    if (excluded.length > 0) {
      this.host.emit({
        type: 'error',
        code: 'SCHEMA',
        message: `peer ${this.peerId}: not syncing table(s) ${excluded.join(', ')} (definition differs or only one side syncs it)`,
        peerId: this.peerId,
        detail: { tables: excluded },
      });
    }
    this.common = common;
    this.remoteNodeId = msg.nodeId;
    this.remoteVector = msg.vector;
    this.deltasAwaited = 1;
    this.sendDelta(msg.vector);
    this.state = 'ready';
    this.host.ready(this);
    this.syncChanged();
  }

  /** Our vector as far as this peer's batches are concerned (what storage holds: durable-read.ts). */
  private known(): Promise<VersionVector> {
    return durableRead(this.host.replica, () => mergeVectors(this.host.replica.getVector(), this.heldFromPeer));
  }

  private sendDelta(since: VersionVector): void {
    this.deltaQueued = true;
    const { replica, options, signer } = this.host;
    this.sendData(async () => deltaAnswer(await durableRead(replica, () => readDelta(replica, since, this.common)), replica.nodeId, signer, this.common, options), () => {
      this.deltaQueued = false;
      this.deltaSentAt = this.window.sentCount();
      this.syncChanged();
    });
  }

  private deltaAcked(): boolean {
    return this.window.ackedCount() >= this.deltaSentAt;
  }

  /**
   * Merges a delta piece into memory and returns when that is done, with what the piece held
   * and a promise of it being stored. Pieces must be merged in order and a refused piece must stop
   * the next one (delta-pieces.ts), so the merge is awaited; storing is not. Nothing is merged
   * before the piece's signature checks (started when it arrived) pass.
   */
  private async applyPiece(batch: Promise<OpenedBatch>): Promise<{ piece: ChangeSet; stored?: Promise<void> }> {
    const { replica } = this.host;
    if (!replica.applyChangesStaged) return { piece: (await this.apply(batch)).piece };
    const opened = await batch;
    if (this.isClosed()) return { piece: EMPTY_CHANGE_SET };
    const { mine, unshared, held: holding } = this.split(opened);
    if (holding === null) return { piece: opened.changes };
    const { options, ceiling } = this.applyOptions(opened, unshared);
    this.remoteVector = mergeCapped(this.remoteVector, capVector(vectorOfChanges(holding), ceiling), 'vector');
    const { result, stored } = await replica.applyChangesStaged(mine, options);
    if (!this.isClosed() && result.applied > 0) this.host.emit({ type: 'sync', count: result.applied, peerId: this.peerId });
    return { piece: opened.changes, stored };
  }

  /**
   * The options to apply `mine` (the shared part of `opened`) with, and the stamps it proves we
   * hold: each author's only as far as our vector may rise (vector-chain.ts: unsigned changes all,
   * signed sets along their author's chain). The peer's own sets too: the room token
   * authenticates a member, not its node id, so any member may open a link under another's id and
   * pass that node's genuine sets as its own. An honest peer's own sets always link (a live batch
   * names the entry it was made on, which we hold before applying it; a delta names what we asked
   * from). The ceiling is read from our vector now; a vector that rises meanwhile only makes it
   * lower than it could be.
   */
  private applyOptions(opened: OpenedBatch, unshared: Pick<ApplyOptions, 'relayed' | 'parked'>): { options: ApplyOptions | undefined; ceiling: VersionVector } {
    const signed = opened.links.length > 0;
    if (signed) this.parts.note(opened.links, opened.signed.map((b) => b.body));
    const ceiling = signed ? vectorCeiling(opened.links, this.host.replica.getVector(), this.parts) : {};
    const limited = Object.keys(ceiling).length > 0;
    const options = opened.signed.length > 0 || limited ? { ...(opened.signed.length > 0 ? { signed: opened.signed } : {}), ...(limited ? { vectorCeiling: ceiling } : {}), ...unshared } : undefined;
    return { options, ceiling };
  }

  /**
   * What of `opened` the replica gets: the shared tables' part, and the rows of signed sets in the
   * other tables (unshared-tables.ts); `held` is both together, null when there is nothing.
   */
  private split(opened: OpenedBatch): { mine: ChangeSet; unshared: Pick<ApplyOptions, 'relayed' | 'parked'>; held: ChangeSet | null } {
    const mine = restrictToTables(opened.changes, this.common);
    const unshared = unsharedParts(opened, (t) => this.common.has(t), this.remoteNodeId);
    const extra = unsharedChanges(unshared);
    const held = extra ? mergeChangeSets([mine, extra]) : mine;
    return { mine, unshared, held: isEmptyChangeSet(held) ? null : held };
  }

  /**
   * Waits for the checks of every signed set and the legacy rule (authored-batch.ts, started when
   * the message arrived; a failure throws AUTH here and nothing is applied), then applies the
   * shared tables' part with the bodies to keep; returns what the batch held and the stamps of
   * it (in every table) that it proves we hold.
   */
  private async apply(batch: Promise<OpenedBatch>): Promise<{ piece: ChangeSet; held: VersionVector }> {
    const { replica } = this.host;
    const opened = await batch;
    if (this.isClosed()) return { piece: EMPTY_CHANGE_SET, held: {} };
    const { mine, unshared, held: holding } = this.split(opened);
    const { options, ceiling } = this.applyOptions(opened, unshared);
    const held = capVector(vectorOfChanges(opened.changes), ceiling);
    if (holding === null) return { piece: opened.changes, held };
    // Before applying: the commit this causes must not be echoed back to where it came from.
    this.remoteVector = mergeCapped(this.remoteVector, capVector(vectorOfChanges(holding), ceiling), 'vector');
    const result = await replica.applyChanges(mine, options);
    if (this.isClosed()) return { piece: opened.changes, held };
    if (result.applied > 0) this.host.emit({ type: 'sync', count: result.applied, peerId: this.peerId });
    return { piece: opened.changes, held };
  }

  /**
   * Acks go out in the order of the messages they answer, each once what it answers is stored
   * (`after`) and with a vector read from durable state (known()).
   */
  private ack(after?: Promise<void>): Promise<void> {
    const sent = this.acking.then(async () => {
      if (after) await after;
      const vector = await this.known();
      this.send({ t: 'ack', vector, handled: ++this.handled });
    });
    this.acking = sent.catch(() => {});
    return sent;
  }

  private onAck(vector: VersionVector, handled: number): void {
    if (this.state !== 'ready') throw new BatteryError('BAD_OP', 'ack before hello');
    // An honest peer acks each data message we sent exactly once, in order: more acks than that
    // would be work (and vector merges) we never asked for.
    if (handled !== this.acksHeard + 1 || handled > this.window.sentCount()) {
      throw new BatteryError('BAD_OP', `ack ${handled} after ack ${this.acksHeard}, with ${this.window.sentCount()} data messages sent`, { limit: 'acks' });
    }
    this.acksHeard = handled;
    this.window.acknowledge(handled);
    if (this.outgoing.acknowledged(this.window.ackedCount())) this.syncChanged();
    const merged = mergeCapped(this.remoteVector, vector, 'ack vector');
    if (vectorsEqual(merged, this.remoteVector) && this.persisted) return;
    this.remoteVector = merged;
    this.persisted = true;
    this.schedulePersist();
  }

  /** Writes the stored peer vector now if the last write is old enough, else once it is. */
  private schedulePersist(): void {
    this.persistPending = true;
    if (this.persistTimer !== null) return;
    const wait = this.lastPersistAt + PEER_VECTOR_PERSIST_MS - this.host.timers.now();
    if (wait <= 0) return this.persistNow();
    this.persistTimer = this.host.timers.setTimeout(() => {
      this.persistTimer = null;
      this.persistNow();
    }, wait);
  }

  private persistNow(): void {
    if (!this.persistPending) return;
    this.persistPending = false;
    this.lastPersistAt = this.host.timers.now();
    this.host.replica.setPeerVector(this.remoteNodeId!, this.remoteVector).catch((e: unknown) => {
      // Losing this only costs a larger delta after the next reconnect; keep the link.
      const err = isBatteryError(e) ? e : new BatteryError('QUOTA', String(e));
      this.host.emit({ type: 'error', code: err.code, message: `could not persist the vector of ${this.peerId}: ${err.message}`, peerId: this.peerId });
    });
  }
}
