import { schemasCompatible } from '../replica/contracts/schema-descriptor.js';

/**
 * Which tables two peers can sync: those both sync with compatible definitions (same key, same
 * types for the columns both have; schema-descriptor.ts). The rest are excluded for this peer (reported as SCHEMA on both sides, since both compute the same split)
 * instead of being half-applied.
 */
export function compareSchemas(ours: Record<string, string>, theirs: Record<string, string>): { common: Set<string>; excluded: string[] } {
  const common = new Set<string>();
  const excluded: string[] = [];
  for (const t of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    if (Object.hasOwn(ours, t) && Object.hasOwn(theirs, t) && schemasCompatible(ours[t]!, theirs[t]!)) common.add(t);
    else excluded.push(t);
  }
  return { common, excluded: excluded.sort() };
}
