/**
 * useQuery<Row>(sql, params): a live query for a component, on Battery.watch. The component
 * re-renders when the result changes (not when an unchanged result arrives again), follows a
 * new `sql` or new param values (a new array with the same values is the same query), and
 * unsubscribes on unmount.
 */
import { useEffect, useState } from 'react';
import { isBatteryError, BatteryError, type ExecResult, type SqlParams, type SqlRow, type SqlValue } from '../index.js';
import { useBattery } from './battery-provider.js';
import { sameResult } from './same-result.js';

export interface QueryState<Row extends object = SqlRow> {
  rows: Row[];
  columns: string[];
  /** The last error (bad SQL, a closed battery); cleared by the next result. */
  error: BatteryError | null;
  /** True until the first result (or error) of the current sql and params. */
  loading: boolean;
}

/** Param values as one string, so a re-rendered `[id]` with the same id is the same query. */
function paramsKey(params: SqlParams | null | undefined): string {
  if (params === null || params === undefined) return '';
  const encode = (v: SqlValue): unknown => (v instanceof Uint8Array ? { bytes: Array.from(v) } : typeof v === 'number' && !Number.isFinite(v) ? { n: String(v) } : v);
  return Array.isArray(params)
    ? JSON.stringify(params.map(encode))
    : JSON.stringify(Object.keys(params).sort().map((k) => [k, encode(params[k] as SqlValue)]));
}

function toBatteryError(e: unknown): BatteryError {
  return isBatteryError(e) ? (e as BatteryError) : new BatteryError('SQL', e instanceof Error ? e.message : String(e));
}

export function useQuery<Row extends object = SqlRow>(sql: string, params?: SqlParams | null): QueryState<Row> {
  const battery = useBattery();
  const key = paramsKey(params);
  const [state, setState] = useState<QueryState<Row> & { query: string }>(() => ({
    rows: [], columns: [], error: null, loading: true, query: '',
  }));
  const query = `${sql}\u0000${key}`;

  useEffect(() => {
    let active = true;
    // What this watch last put in the state: an equal result must not even call setState (a
    // functional update that returns the same state still costs React a render pass).
    let shown: ExecResult<Row> | null = null;
    setState((s) => (s.query === query ? s : { ...s, loading: true, query }));
    let stop: (() => void) | undefined;
    try {
      stop = battery.watch<Row>(
        sql,
        params ?? null,
        (result) => {
          if (!active || (shown !== null && sameResult(shown, result))) return;
          shown = result;
          setState({ rows: result.rows, columns: result.columns, error: null, loading: false, query });
        },
        (error) => {
          if (!active) return;
          shown = null;
          setState((s) => ({ ...s, error, loading: false, query }));
        },
      );
    } catch (e) {
      setState((s) => ({ ...s, error: toBatteryError(e), loading: false, query }));
    }
    return () => {
      active = false;
      stop?.();
    };
    // `params` is followed through `key` (its values), not its identity.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [battery, query]);

  const { query: _query, ...visible } = state;
  // Until the effect has switched to a new query, report it as loading rather than show the old result as its own.
  return state.query === query ? visible : { ...visible, loading: true };
}
