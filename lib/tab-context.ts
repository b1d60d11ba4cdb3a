/**
 * What connectBattery hands to the code that connects a tab in one mode (shared-connection.ts,
 * dedicated-host.ts): the resolved options, this tab's id and hello, and how to make its handle.
 */
import { BatteryError, isBatteryError } from '../shared-worker/protocol/errors.js';
import { Battery } from './battery.js';
import type { ResolvedOptions } from './battery-options.js';
import type { MeshDriverFactory } from './mesh-driver.js';
import type { HelloMessage } from '../shared-worker/protocol/worker-protocol.js';

export function toBatteryError(e: unknown, code: 'WORKER' = 'WORKER'): BatteryError {
  return isBatteryError(e) ? (e as BatteryError) : new BatteryError(code, e instanceof Error ? e.message : String(e));
}

export interface TabContext {
  options: ResolvedOptions;
  tabId: string;
  hello: HelloMessage;
  meshDriver: MeshDriverFactory;
  releaseTabLock: () => void;
}

export function newBattery(ctx: TabContext, onClose: () => void | Promise<void>): Battery {
  const o = ctx.options;
  return new Battery({
    hello: ctx.hello,
    requestTimeoutMs: o.requestTimeoutMs,
    meshDriver: ctx.meshDriver,
    onClose,
    allowWeakToken: o.allowWeakToken,
    ...(o.signalingUrl !== undefined ? { signalingUrl: o.signalingUrl } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.iceServers !== undefined ? { iceServers: o.iceServers } : {}),
    ...(o.diagnostics !== undefined ? { diagnostics: o.diagnostics } : {}),
    ...(o.mailbox !== undefined ? { mailbox: o.mailbox } : {}),
  });
}
