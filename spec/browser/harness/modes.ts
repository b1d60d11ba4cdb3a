/**
 * The replica host modes every tab suite runs under: one SharedWorker per origin, and the
 * fallback where the leader tab hosts it in a dedicated worker (docs/architecture.md "Leadership").
 */
export const MODES = ['shared', 'dedicated'] as const;
export type Mode = (typeof MODES)[number];

export function tabOptions(mode: Mode, dbName = 'spec-db'): Record<string, unknown> {
  return { dbName, mode };
}
