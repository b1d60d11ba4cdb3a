/**
 * Whether two query results hold the same columns and values, so useQuery can keep its state (and
 * skip a render) when a result arrives again unchanged: the worker already skips unchanged
 * results, but a re-registered watch (a replaced worker, changed-and-back params) sends one.
 */
import type { ExecResult } from '../index.js';

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return false;
}

export function sameResult(a: ExecResult<object>, b: ExecResult<object>): boolean {
  if (a.columns.length !== b.columns.length || a.rows.length !== b.rows.length) return false;
  for (let i = 0; i < a.columns.length; i++) if (a.columns[i] !== b.columns[i]) return false;
  for (let r = 0; r < a.rows.length; r++) {
    const x = a.rows[r] as Record<string, unknown>;
    const y = b.rows[r] as Record<string, unknown>;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const k of keys) if (!sameValue(x[k], y[k])) return false;
  }
  return true;
}
