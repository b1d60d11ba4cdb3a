/**
 * Reads for a peer come from durable state only. The replica serves reads from memory, which can
 * be ahead of storage: a write runs at once and is stored with its group a little later, and if
 * storage refuses the group (QUOTA) memory is rolled back. A hello vector, a delta or an ack built
 * from such a write would hand the peer a change this replica then forgets (and gets back from
 * the peer), or claim a version it does not hold. So the value is read from memory and used only
 * once memory at that point is durable (DurableReplica.whenDurable); after a rollback, read again.
 */
import type { DurableReplica } from '../replica/contracts/replica-types.js';

/** Rollbacks in a row before giving up (storage keeps refusing: the caller's link fails). */
const MAX_ATTEMPTS = 3;

export async function durableRead<T>(replica: DurableReplica, read: () => T): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const value = read();
    if (!replica.whenDurable) return value;
    try {
      await replica.whenDurable();
      return value;
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS) throw e;
    }
  }
}
