/**
 * WirePort adapters for the browser's channels. A MessagePort needs start() when listened to
 * with addEventListener; Chrome ≥ 122 fires `close` on it when the other side's context dies
 * (a crashed worker), older browsers never do, which is what tab locks and timeouts cover.
 */
import type { WirePort } from './worker-protocol.js';

export function messagePortWire<In = unknown, Out = unknown>(port: MessagePort, extraCloseSources: Array<(fire: () => void) => void> = []): WirePort<In, Out> {
  const closeHandlers: Array<() => void> = [];
  let closed = false;
  const fireClose = () => {
    if (closed) return;
    closed = true;
    for (const h of closeHandlers) h();
  };
  port.addEventListener('close', fireClose);
  for (const source of extraCloseSources) source(fireClose);
  return {
    post(message) {
      if (!closed) port.postMessage(message);
    },
    listen(handler) {
      port.addEventListener('message', (e: MessageEvent) => handler(e.data as In));
      port.start();
    },
    onClose(handler) {
      closeHandlers.push(handler);
    },
    close() {
      closed = true;
      port.close();
    },
  };
}
