import { parsePeerId } from '../shared-worker/protocol/ids.js';

export type Logger = (line: string) => void;

export const consoleLogger: Logger = (line) => {
  console.log(`${new Date().toISOString()} ${line}`);
};

/**
 * Logs travel further than the server (log shippers, bug reports), and a full room id is the
 * capability to list that room's members, so lines carry only its first 8 hex digits: enough to
 * tell rooms apart in one log, 2^96 short of naming one.
 */
export function redactPeerId(peerId: string): string {
  const parsed = parsePeerId(peerId);
  return parsed ? `${parsed.roomId.slice(0, 8)}…-${parsed.nodeId}` : '(invalid id)';
}
