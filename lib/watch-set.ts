/**
 * The tab's live queries: what it asked the worker to watch, so they can be re-registered when
 * the worker is replaced (dedicated mode), and so a late initial answer never overwrites a
 * newer pushed result (pushes are always at least as new as the initial run).
 */
import { isBatteryError, type BatteryError } from '../shared-worker/protocol/errors.js';
import type { ExecResult, SqlParams, SqlRow } from '../shared-worker/protocol/values.js';
import type { Request, RequestOp, ResultOf } from '../shared-worker/protocol/worker-protocol.js';

export type WatchCallback<Row extends object = SqlRow> = (result: ExecResult<Row>) => void;

interface Entry {
  sql: string;
  params: SqlParams | undefined;
  callback: WatchCallback;
  onError: ((e: BatteryError) => void) | undefined;
  /** A push arrived since the last (re)subscription: its initial answer is stale. */
  pushed: boolean;
}

type Send = <K extends RequestOp>(req: Extract<Request, { op: K }>) => Promise<ResultOf[K]>;

export class WatchSet {
  private readonly entries = new Map<string, Entry>();
  private next = 0;

  constructor(private readonly send: Send, private readonly reportError: (e: BatteryError) => void) {}

  add(sql: string, params: SqlParams | undefined, callback: WatchCallback, onError?: (e: BatteryError) => void): () => void {
    const id = `w${++this.next}`;
    const entry: Entry = { sql, params, callback, onError, pushed: false };
    this.entries.set(id, entry);
    this.subscribe(id, entry);
    return () => {
      if (this.entries.get(id) !== entry) return;
      this.entries.delete(id);
      this.send({ op: 'unwatch', watchId: id }).catch(() => {
        /* the worker forgets a closed tab's watches by itself */
      });
    };
  }

  deliver(id: string, result: ExecResult): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.pushed = true;
    e.callback(result);
  }

  /** The worker could not re-run a watch (e.g. its table was dropped); it stays registered. */
  fail(id: string, error: BatteryError): void {
    const e = this.entries.get(id);
    if (e) this.report(e, error);
  }

  resubscribeAll(): void {
    for (const [id, e] of this.entries) this.subscribe(id, e);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private subscribe(id: string, e: Entry): void {
    e.pushed = false;
    const req = e.params === undefined ? { op: 'watch' as const, watchId: id, sql: e.sql } : { op: 'watch' as const, watchId: id, sql: e.sql, params: e.params };
    this.send(req).then(
      (result) => {
        if (this.entries.get(id) === e && !e.pushed) e.callback(result);
      },
      (error: unknown) => {
        if (this.entries.get(id) !== e) return;
        // 'WORKER': the worker went away; the watch is re-sent to the next one (or the handle closed).
        if (isBatteryError(error) && error.code === 'WORKER') return;
        this.entries.delete(id);
        this.report(e, error as BatteryError);
      },
    );
  }

  private report(e: Entry, error: BatteryError): void {
    if (e.onError) e.onError(error);
    else this.reportError(error);
  }
}
