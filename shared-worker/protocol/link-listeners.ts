/**
 * The listener half of a PeerLink (onFrame/onDrain/onClose and close-once), shared by its
 * implementations so each only says how frames move.
 */
export abstract class LinkListeners {
  protected closed = false;
  private readonly frameListeners: Array<(frame: Uint8Array) => void> = [];
  private readonly drainListeners: Array<() => void> = [];
  private readonly closeListeners: Array<(reason?: string) => void> = [];

  onFrame(listener: (frame: Uint8Array) => void): void {
    this.frameListeners.push(listener);
  }

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  onClose(listener: (reason?: string) => void): void {
    this.closeListeners.push(listener);
  }

  protected emitFrame(frame: Uint8Array): void {
    for (const l of this.frameListeners) l(frame);
  }

  protected emitDrain(): void {
    for (const l of this.drainListeners) l();
  }

  /** Marks the link closed and tells the close listeners, once; false when it already was closed. */
  protected markClosed(reason?: string): boolean {
    if (this.closed) return false;
    this.closed = true;
    for (const l of this.closeListeners) l(reason);
    return true;
  }
}
