/**
 * The part of PeerJS 1.5.5 the mesh uses, as interfaces: the real `Peer` satisfies them in the
 * browser, and spec/node/mesh/fake-peerjs.ts drives the same mesh code in Node. Only what the
 * mesh touches is listed, so a fake cannot pass by implementing something PeerJS does not do.
 */

/** PeerJS `PeerErrorType` strings (peerjs/lib/enums.ts). */
type PeerErrorType =
  | 'browser-incompatible'
  | 'disconnected'
  | 'invalid-id'
  | 'invalid-key'
  | 'network'
  | 'peer-unavailable'
  | 'ssl-unavailable'
  | 'server-error'
  | 'socket-error'
  | 'socket-closed'
  | 'unavailable-id'
  | 'webrtc';

export interface PeerErrorLike {
  type: PeerErrorType | string;
  message: string;
}

/** The RTCDataChannel under a DataConnection (only what backpressure and the guard read). */
export interface DataChannelLike {
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  readonly ordered: boolean;
  readonly maxRetransmits: number | null;
  readonly maxPacketLifeTime: number | null;
  readonly readyState: string;
  send(data: Uint8Array): void;
  addEventListener(type: 'bufferedamountlow', listener: () => void): void;
}

export interface DataConnectionLike {
  /** The remote peer id (as the signaling server relayed it). */
  readonly peer: string;
  readonly connectionId: string;
  /** What the dialer asked for (on an incoming connection: what the remote claims). */
  readonly reliable: boolean;
  readonly serialization: string;
  readonly open: boolean;
  /** Set once negotiation created the channel; undefined before. */
  readonly dataChannel: DataChannelLike | undefined | null;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'data', listener: (data: unknown) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: PeerErrorLike) => void): unknown;
  close(): void;
}

export interface PeerLike {
  readonly open: boolean;
  readonly disconnected: boolean;
  readonly destroyed: boolean;
  on(event: 'open', listener: (id: string) => void): unknown;
  on(event: 'connection', listener: (connection: DataConnectionLike) => void): unknown;
  on(event: 'disconnected', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: PeerErrorLike) => void): unknown;
  connect(peerId: string, options: { reliable: boolean; serialization: string }): DataConnectionLike | undefined;
  reconnect(): void;
  destroy(): void;
}

export interface PeerOptionsLike {
  host: string;
  port: number;
  path: string;
  secure: boolean;
  /** Sent with the registration; the server binds the id to it (PeerJS's default is random per Peer). */
  token: string;
  config: { iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }> };
  debug: number;
}

export type PeerFactory = (id: string, options: PeerOptionsLike) => PeerLike;
