/**
 * The tab's end of the tab↔worker protocol: the hello handshake, requests with ids and a
 * timeout each, and the rule that nothing hangs: when the worker dies, the port closes, the
 * handle closes or a request outlives its timeout, the affected promises reject with
 * BatteryError('WORKER') (the problem Comlink issues #601/#554 describe).
 */
import { BatteryError, deserializeError } from '../shared-worker/protocol/errors.js';
import {
  type HelloMessage, type Request, type RequestOp, type ResultOf, type TabToWorker,
  type WelcomeMessage, type WirePort, type WorkerToTab,
} from '../shared-worker/protocol/worker-protocol.js';

/** Messages the client does not consume itself (events and leader commands). */
export type PushMessage = Exclude<WorkerToTab, WelcomeMessage | { kind: 'refused' } | { kind: 'response' }>;

export interface WorkerClientOptions {
  timeoutMs: number;
  onPush(message: PushMessage): void;
  /** Every response carries the worker's current state; the handle caches it. */
  onResponse?(message: Extract<WorkerToTab, { kind: 'response' }>): void;
}

interface Pending {
  op: string;
  resolve(value: unknown): void;
  reject(error: BatteryError): void;
  timer: ReturnType<typeof setTimeout> | null;
}

export class WorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private handshake: Pending | null = null;
  private failure: BatteryError | null = null;

  constructor(private readonly port: WirePort<unknown, TabToWorker>, private readonly options: WorkerClientOptions) {
    port.listen((m) => this.onMessage(m as WorkerToTab));
    port.onClose(() => this.fail(new BatteryError('WORKER', 'the connection to the worker closed')));
  }

  get isDead(): boolean {
    return this.failure !== null;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  hello(hello: HelloMessage, timeoutMs = this.options.timeoutMs): Promise<WelcomeMessage> {
    return new Promise<WelcomeMessage>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const p: Pending = { op: 'hello', resolve: resolve as (v: unknown) => void, reject, timer: null };
      p.timer = setTimeout(() => {
        this.handshake = null;
        reject(new BatteryError('WORKER', `the worker did not answer hello within ${timeoutMs} ms`));
      }, timeoutMs);
      this.handshake = p;
      this.port.post(hello);
    });
  }

  request<K extends RequestOp>(req: Extract<Request, { op: K }>, timeoutMs = this.options.timeoutMs): Promise<ResultOf[K]> {
    return new Promise<ResultOf[K]>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = this.nextId++;
      const p: Pending = { op: req.op, resolve: resolve as (v: unknown) => void, reject, timer: null };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new BatteryError('WORKER', `${req.op} timed out after ${timeoutMs} ms`, { op: req.op, timeoutMs }));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      try {
        this.port.post({ kind: 'request', id, req });
      } catch (e) {
        // DataCloneError: something in the request cannot be structured-cloned.
        this.pending.delete(id);
        if (p.timer !== null) clearTimeout(p.timer);
        reject(new BatteryError('BAD_OP', `${req.op}: the request cannot be sent to the worker (${e instanceof Error ? e.message : String(e)})`));
      }
    });
  }

  /** Posts a message that expects no response (leader relay, bye). */
  post(message: TabToWorker): void {
    if (!this.failure) this.port.post(message);
  }

  /** Rejects everything pending and refuses new requests with `error`. Idempotent. */
  fail(error: BatteryError): void {
    if (this.failure) return;
    this.failure = error;
    const all = [...this.pending.values()];
    this.pending.clear();
    if (this.handshake) all.push(this.handshake);
    this.handshake = null;
    for (const p of all) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.reject(error);
    }
  }

  /** Says goodbye to the worker, rejects what is pending, closes the port. */
  close(reason = 'the battery was closed'): void {
    if (!this.failure) this.port.post({ kind: 'bye' });
    this.fail(new BatteryError('WORKER', reason));
    this.port.close();
  }

  private onMessage(m: WorkerToTab): void {
    if (this.failure || typeof m !== 'object' || m === null) return;
    switch (m.kind) {
      case 'welcome':
      case 'refused': {
        const h = this.handshake;
        if (!h) return;
        this.handshake = null;
        if (h.timer !== null) clearTimeout(h.timer);
        if (m.kind === 'welcome') h.resolve(m);
        else h.reject(deserializeError(m.error));
        return;
      }
      case 'response': {
        this.options.onResponse?.(m);
        const p = this.pending.get(m.id);
        if (!p) return; // timed out already
        this.pending.delete(m.id);
        if (p.timer !== null) clearTimeout(p.timer);
        if (m.ok) p.resolve(m.result);
        else p.reject(deserializeError(m.error));
        return;
      }
      default:
        this.options.onPush(m);
    }
  }
}
