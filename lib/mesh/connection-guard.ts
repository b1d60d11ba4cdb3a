/**
 * docs/security.md "Links": a connection that asks for an unreliable channel
 * or an unexpected serialization is refused. Checked twice: on the offer (what the dialer claims
 * in PeerJS's connection payload) and on open (what the negotiated RTCDataChannel really is), since
 * a hostile dialer can claim `reliable: true` and still negotiate an unordered, lossy channel.
 */
import type { DataChannelLike, DataConnectionLike } from './peerjs-seam.js';

/** PeerJS's name for "hand me the bytes as they came" (SerializationType.None). */
export const RAW_SERIALIZATION = 'raw';

export function offerIsAcceptable(connection: Pick<DataConnectionLike, 'reliable' | 'serialization'>): boolean {
  return connection.reliable === true && connection.serialization === RAW_SERIALIZATION;
}

/** Ordered, and retransmitted without limit: what SCTP "reliable" means for a data channel. */
export function channelIsReliable(channel: Pick<DataChannelLike, 'ordered' | 'maxRetransmits' | 'maxPacketLifeTime'>): boolean {
  return channel.ordered === true && channel.maxRetransmits == null && channel.maxPacketLifeTime == null;
}
