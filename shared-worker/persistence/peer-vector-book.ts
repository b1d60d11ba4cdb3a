import { isNodeId } from '../protocol/ids.js';
import { MAX_VECTOR_ENTRIES } from '../protocol/limits.js';
import type { VersionVector } from '../replica/contracts/version-vector.js';

/**
 * How many peers' vectors a replica keeps, and how many entries they hold together. Each peer
 * vector is capped on its own (MAX_VECTOR_ENTRIES, by the session), but a member can connect
 * under ever new node ids, and each connection would store one more vector of up to 100 000
 * entries (~10 MB of heap, all loaded at open): enough reconnects and the worker runs out of
 * memory. Honest rooms need far less: a vector per browser ever synced with, each as long as the
 * room has writers.
 */
export const MAX_STORED_PEER_VECTORS = 256;
export const MAX_STORED_PEER_VECTOR_ENTRIES = 4 * MAX_VECTOR_ENTRIES;

/**
 * The stored peer vectors (`peer:<id>` records), bounded by MAX_STORED_PEER_VECTORS and
 * MAX_STORED_PEER_VECTOR_ENTRIES. Past either, the least recently written vectors of peers go: a
 * peer's stored vector only saves work (the next delta to it), so losing one costs a larger delta,
 * never data. Names that are not node ids (the mailbox cursor, written by this replica for its own
 * configuration) are never evicted and not counted.
 */
export class PeerVectorBook {
  /** Insertion order is write order: a write moves its key to the end. */
  private readonly vectors = new Map<string, VersionVector>();
  private peerCount = 0;
  private peerEntries = 0;

  constructor(loaded: ReadonlyMap<string, VersionVector>) {
    for (const [name, vector] of loaded) this.add(name, vector);
  }

  get(name: string): VersionVector | undefined {
    const v = this.vectors.get(name);
    return v && { ...v };
  }

  /** Every stored vector by name, least recently written first. */
  *[Symbol.iterator](): IterableIterator<[string, VersionVector]> {
    yield* this.vectors;
  }

  /** Records `vector` for `name`; returns the names evicted to stay within the bounds. */
  set(name: string, vector: VersionVector): string[] {
    this.drop(name);
    this.add(name, { ...vector });
    const evicted: string[] = [];
    for (const old of this.vectors.keys()) {
      if (this.peerCount <= MAX_STORED_PEER_VECTORS && this.peerEntries <= MAX_STORED_PEER_VECTOR_ENTRIES) break;
      if (old === name || !isNodeId(old)) continue;
      this.drop(old);
      evicted.push(old);
    }
    return evicted;
  }

  private add(name: string, vector: VersionVector): void {
    this.vectors.set(name, vector);
    if (!isNodeId(name)) return;
    this.peerCount += 1;
    this.peerEntries += Object.keys(vector).length;
  }

  private drop(name: string): void {
    const v = this.vectors.get(name);
    if (v === undefined) return;
    this.vectors.delete(name);
    if (!isNodeId(name)) return;
    this.peerCount -= 1;
    this.peerEntries -= Object.keys(v).length;
  }
}
