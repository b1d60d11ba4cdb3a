/**
 * What the test pages put on `window`, typed for the functions the tests run inside pages.
 * Written against the README's API rather than imported from lib/, so the harness only
 * depends on the built bundle, as a user would.
 */
type SqlValue = null | number | string | Uint8Array;

export interface ExecResultLike {
  columns: string[];
  rows: Record<string, SqlValue>[];
}

interface BatteryLike {
  exec(sql: string, params?: unknown): Promise<ExecResultLike>;
  execLocal(sql: string, params?: unknown): Promise<ExecResultLike>;
  enableSync(table: string): Promise<void>;
  watch(sql: string, params: unknown, cb: (result: ExecResultLike) => void): (() => void) | Promise<() => void>;
  close(): Promise<void> | void;
  getNodeId(): string;
  isLeader(): boolean;
  on(event: string, cb: (...args: unknown[]) => void): void;
  off(event: string, cb: (...args: unknown[]) => void): void;
}

interface BatteryModuleLike {
  connectBattery(options: Record<string, unknown>): Promise<BatteryLike>;
}

/** One recorded event of the tab's Battery handle. */
interface RecordedEvent {
  name: string;
  args: unknown[];
}

declare global {
  interface Window {
    rtcBattery?: BatteryModuleLike;
    batteryLoadError?: string;
    /** The tab's Battery handle once `connectTab` ran. */
    db?: BatteryLike;
    /** Every event the handle emitted, in order (see connectTab). */
    batteryEvents?: RecordedEvent[];
    /** Results pushed by a `watch` callback the test installed. */
    watchResults?: ExecResultLike[];
  }
}
