/**
 * The pieces of a mailbox snapshot downloaded so far, kept with the replica (DurableReplica
 * records) so a download cut off by a dropped socket, or a closed tab, continues where it stopped.
 * A snapshot is known by the position it covers and its sealed size: the server replaces a
 * snapshot only by one covering a later position, so the pair names one sealed blob (and a
 * mix-up would not open: AES-GCM refuses it, and the pieces are dropped).
 */
import type { DurableReplica } from '../replica/contracts/replica-types.js';

interface SnapshotIdentity {
  covers: number;
  size: number;
}

interface HeldSnapshot extends SnapshotIdentity {
  /** The ranges received, in order from offset 0. */
  pieces: Uint8Array[];
}

export interface MailboxSnapshotStore {
  load(): Promise<HeldSnapshot | undefined>;
  /** Stores the piece that follows the `index` pieces held, durable before it resolves. */
  append(identity: SnapshotIdentity, index: number, bytes: Uint8Array): Promise<void>;
  clear(): Promise<void>;
}

interface Head extends SnapshotIdentity {
  pieces: number;
}

function isHead(x: unknown): x is Head {
  const h = x as Partial<Head> | null;
  return typeof h === 'object' && h !== null && [h.covers, h.size, h.pieces].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
}

export function replicaSnapshotStore(replica: DurableReplica, name: string): MailboxSnapshotStore {
  const headKey = `${name}:snapshot`;
  const pieceKey = (i: number) => `${name}:snapshot:${i}`;
  const loadHead = async () => {
    const head = await replica.getRecord(headKey);
    return isHead(head) ? head : undefined;
  };
  return {
    async load() {
      const head = await loadHead();
      if (!head) return undefined;
      const pieces: Uint8Array[] = [];
      let held = 0;
      for (let i = 0; i < head.pieces; i += 1) {
        const piece = await replica.getRecord(pieceKey(i));
        // Storage that lost or mangled a piece: start the snapshot over rather than guess.
        if (!(piece instanceof Uint8Array) || piece.length === 0) return undefined;
        pieces.push(piece);
        held += piece.length;
      }
      return held <= head.size ? { covers: head.covers, size: head.size, pieces } : undefined;
    },
    async append(identity, index, bytes) {
      const head: Head = { covers: identity.covers, size: identity.size, pieces: index + 1 };
      await replica.putRecords([
        [pieceKey(index), bytes],
        [headKey, head],
      ]);
    },
    async clear() {
      const head = await replica.getRecord(headKey);
      const count = isHead(head) ? head.pieces : 0;
      await replica.putRecords([[headKey, undefined], ...Array.from({ length: count }, (_, i) => [pieceKey(i), undefined] as const)]);
    },
  };
}
