/**
 * The rows of a batch's signed sets in tables the sender does not share with us (compare-schemas.ts;
 * docs/schema-evolution.md, "Tables one peer does not sync"). Our vector entry for their author
 * rises past those sets like past any other (vector-chain.ts), so the replica must hold them:
 * rows the sender relays from other authors are merged where they fit a table we sync, the rest
 * parked with their bodies and forwarded, and merged when we enable their table.
 * The sender's own rows of a table both of us sync are parked only: its hello showed that its
 * definition differs from ours. Unsigned legacy rows are left out (they have no body to forward).
 */
import { mergeChangeSets, type ChangeSet } from '../replica/contracts/change-set.js';
import type { ApplyOptions } from '../replica/contracts/replica-types.js';
import type { OpenedBatch } from './authored-batch.js';

/** `shared`: the tables applied from this batch as usual; `sender`: the node id whose own sets are parked only (null: none, e.g. a mailbox blob). */
export function unsharedParts(opened: OpenedBatch, shared: (table: string) => boolean, sender: string | null): Pick<ApplyOptions, 'relayed' | 'parked'> {
  const relayed: ChangeSet[] = [];
  const parked: ChangeSet[] = [];
  opened.sets.forEach((set, i) => {
    const rest = set.tables.filter((t) => !shared(t.table));
    if (rest.length === 0) return;
    (opened.links[i]!.author === sender ? parked : relayed).push({ nodes: set.nodes, tables: rest });
  });
  return {
    ...(relayed.length > 0 ? { relayed: mergeChangeSets(relayed) } : {}),
    ...(parked.length > 0 ? { parked: mergeChangeSets(parked) } : {}),
  };
}

/** The registers of both parts together (what the sender proves we now hold of them). */
export function unsharedChanges(parts: Pick<ApplyOptions, 'relayed' | 'parked'>): ChangeSet | null {
  const all = [parts.relayed, parts.parked].filter((x): x is ChangeSet => x !== undefined);
  return all.length === 0 ? null : mergeChangeSets(all);
}
