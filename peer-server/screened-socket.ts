import { WebSocket } from 'ws';

/**
 * A `ws` socket whose incoming messages pass a gate before any listener sees them. npm `peer`
 * attaches its own `message` listener and relays whatever it parses, and an EventEmitter has no
 * way to stop a listener registered by someone else; `ws` does let a server pick the socket
 * class (`WebSocketServer({ WebSocket })`), so the gate sits in `emit` of that class.
 *
 * `screen` is set by the server in the upgrade callback, before the socket is handed to `peer`;
 * a socket without one (a refused connection being closed) delivers nothing.
 */
export class ScreenedSocket extends WebSocket {
  screen: ((data: unknown, isBinary: boolean) => boolean) | undefined;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message') {
      if (this.readyState !== WebSocket.OPEN || !this.screen?.(args[0], args[1] === true)) return false;
    }
    return super.emit(event, ...args);
  }
}
