/**
 * A peer that knows the token but speaks whatever the test wants: it authenticates properly on a
 * fresh link to `target`, then sends arbitrary (validly sealed) messages or raw frames.
 */
import { FRAME_HEADER_BYTES, FrameReader, FrameWriter } from '../../../../shared-worker/sync/framing.js';
import { PeerAuthenticator } from '../../../../shared-worker/sync/peer-auth.js';
import { encodePeerMessage, PROTOCOL_VERSION, type PeerMessage } from '../../../../shared-worker/sync/peer-protocol.js';
import type { RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { openSealedChannel } from '../../../../shared-worker/sync/sealed-channel.js';
import { peerIdFor } from '../../../../shared-worker/protocol/ids.js';
import type { PeerLink } from '../../../../shared-worker/protocol/peer-link.js';
import { createLinkPair } from './memory-link.js';
import type { TestNode } from './net.js';
import type { ReplicaKit } from './replica-kit.js';

export interface RoguePeer {
  peerId: string;
  nodeId: string;
  send(message: unknown, options?: { skipHello?: boolean }): Promise<void>;
  sendRawFrame(frame: Uint8Array): Promise<void>;
  /** Seals `plain` as one message (any bytes, not necessarily msgpack) and sends it as one frame. */
  sendPlaintext(plain: Uint8Array, options?: { skipHello?: boolean }): Promise<void>;
  closed(): boolean;
  /** Every message the target sent after authentication, decoded. */
  received: unknown[];
}

export interface RogueOptions {
  /** What the target gets instead of its end of the link (e.g. one that reports a full buffer). */
  wrapTargetLink?: (link: PeerLink) => PeerLink;
}

export async function openRoguePeer(target: TestNode, keys: RoomKeys, nodeId: string, _kit?: ReplicaKit, options: RogueOptions = {}): Promise<RoguePeer> {
  const peerId = peerIdFor(keys.roomId, nodeId);
  const pair = createLinkPair(peerId, target.peerId);
  const auth = new PeerAuthenticator(pair.a, keys, peerId);
  let resolveAuth!: (r: Awaited<ReturnType<PeerAuthenticator['handle']>>) => void;
  const done = new Promise<Awaited<ReturnType<PeerAuthenticator['handle']>>>((r) => (resolveAuth = r));
  let chain = Promise.resolve();
  let reader: FrameReader | null = null;
  const received: unknown[] = [];
  pair.a.onFrame((f) => {
    chain = chain.then(async () => {
      if (reader) {
        const m = await reader.push(f).catch(() => null);
        if (m) received.push(m.message);
        return;
      }
      const r = await auth.handle(f).catch(() => null);
      if (r) {
        reader = new FrameReader(await openSealedChannel(keys.encKey, r, true));
        resolveAuth(r);
      }
    });
  });
  target.sync.addLink(options.wrapTargetLink ? options.wrapTargetLink(pair.b) : pair.b);
  auth.start();
  const result = (await done)!;
  const channel = await openSealedChannel(keys.encKey, result, true);
  const writer = new FrameWriter(pair.a, channel);
  let hello: Promise<void> | null = null;
  let rawMessages = 0;
  return {
    peerId,
    nodeId,
    async send(message, options) {
      await sayHello(options);
      // Unsigned (legacy) change sets unless the test gives `signed`: what an attacker sends.
      const m = message as PeerMessage;
      const withSigned = (m.t === 'live' || m.t === 'delta') && !('signed' in m) ? { ...(m as object), signed: [] } : m;
      await writer.send(encodePeerMessage(withSigned as PeerMessage));
    },
    async sendPlaintext(plain, options) {
      await sayHello(options);
      // writer.send resolved after sealing, so this seal is next in the channel's order.
      const sealed = await channel.seal(plain);
      const frame = new Uint8Array(FRAME_HEADER_BYTES + sealed.length);
      const view = new DataView(frame.buffer);
      view.setUint32(0, 0xfffffff0 + rawMessages++);
      view.setUint32(4, 0);
      view.setUint32(8, 1);
      frame.set(sealed, FRAME_HEADER_BYTES);
      pair.a.send(frame);
    },
    async sendRawFrame(frame) {
      pair.a.send(frame);
    },
    closed: () => pair.a.closed,
    received,
  };

  /** Hello and the (empty) answer to the target's hello, queued before anything else (once). */
  function sayHello(options?: { skipHello?: boolean }): Promise<void> {
    if (hello || options?.skipHello) return hello ?? Promise.resolve();
    // Queued synchronously: concurrent sends must not get ahead of them. Until the delta
    // arrives, the target acknowledges live batches without applying them.
    const h = writer.send({ t: 'hello', protocol: PROTOCOL_VERSION, nodeId, fingerprints: target.replica.fingerprints(), vector: {} });
    hello = Promise.all([h, writer.send(encodePeerMessage({ t: 'delta', changes: { nodes: [], tables: [] }, signed: [], last: true, upTo: {} }))]).then(() => undefined);
    return hello;
  }
}
