/**
 * Who else is in the room: `GET <httpBase>rooms/<roomId>` → `{peers: [...]}` on the battery
 * PeerServer (peer-server/). The answer comes from the network, so it is checked like any remote
 * input: only well-formed peer ids of this very room, at most MAX_LISTED of them.
 */
import { BatteryError } from '../../shared-worker/protocol/errors.js';
import { parsePeerId } from '../../shared-worker/protocol/ids.js';

/** The server caps rooms at 32 peers by default; 256 leaves room for a bigger configured cap. */
export const MAX_LISTED = 256;

export type FetchLike = (url: string, init?: { cache?: RequestCache; signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

export type ListMembers = (roomId: string) => Promise<string[]>;

export function roomDirectory(httpBase: string, fetchImpl: FetchLike = (url, init) => fetch(url, init)): ListMembers {
  return async (roomId) => {
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await fetchImpl(`${httpBase}rooms/${roomId}`, { cache: 'no-store' });
    } catch (e) {
      throw new BatteryError('SIGNALING', `room listing failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!response.ok) throw new BatteryError('SIGNALING', `room listing refused with HTTP ${response.status}`, { status: response.status });
    return membersOf(await response.json().catch(() => null), roomId);
  };
}

/** The valid members of `roomId` in a listing body; anything malformed is dropped, not trusted. */
export function membersOf(body: unknown, roomId: string): string[] {
  const peers = (body as { peers?: unknown } | null)?.peers;
  if (!Array.isArray(peers)) throw new BatteryError('SIGNALING', 'room listing is not {peers: [...]}');
  const out = new Set<string>();
  for (const p of peers.slice(0, MAX_LISTED)) {
    if (typeof p === 'string' && parsePeerId(p)?.roomId === roomId) out.add(p);
  }
  return [...out];
}
