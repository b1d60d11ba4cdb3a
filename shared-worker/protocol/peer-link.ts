/**
 * The transport seam between the sync engine (in the worker) and a DataConnection (held by the
 * leader tab, since workers cannot open RTCPeerConnections). A link carries opaque binary frames;
 * authentication, encryption and framing happen above it, in the worker. Implementations:
 *   - in-memory pipe pairs for Node tests (spec helpers),
 *   - the worker's side of a leader-tab relay (frames posted over the tab's MessagePort),
 *   - (in the leader tab) a PeerJS DataConnection with `serialization: 'raw'`, `reliable: true`.
 */
export interface PeerLink {
  /** Unique per link within this worker (the relay's connection id). */
  readonly id: string;
  /** The remote PeerJS id as the signaling server reported it (`<roomId>-<nodeId>`); unauthenticated. */
  readonly remotePeerId: string;
  /** True when we dialed, false when the remote dialed us. */
  readonly initiator: boolean;
  send(frame: Uint8Array): void;
  /** Bytes queued and not yet handed to the network; the sender pauses above a high-water mark. */
  bufferedAmount(): number;
  close(reason?: string): void;
  onFrame(listener: (frame: Uint8Array) => void): void;
  /** Fires when bufferedAmount has dropped below the low-water mark after being above it. */
  onDrain(listener: () => void): void;
  onClose(listener: (reason?: string) => void): void;
}
