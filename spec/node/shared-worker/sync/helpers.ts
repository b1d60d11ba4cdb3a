import { deriveRoomKeys, type RoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { peerIdFor } from '../../../../shared-worker/protocol/ids.js';

/** Waits (macrotask by macrotask) until `pred` holds; the vitest test timeout bounds a hang. */
export async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 1));
}

/** Lets queued deliveries and crypto run for a while. */
export async function ticks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
}

export function nodeIdOf(i: number): string {
  return `a${i.toString(16).padStart(15, '0')}`;
}

export async function roomFor(token: string): Promise<{ keys: RoomKeys; peerId: (node: string) => string }> {
  const keys = await deriveRoomKeys(token);
  return { keys, peerId: (node) => peerIdFor(keys.roomId, node) };
}
