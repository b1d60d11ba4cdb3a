/**
 * rtc-battery: a SQL database for web apps that syncs peer to peer. Every tab of an origin
 * shares one SQLite replica; replicas in different browsers merge over WebRTC.
 */
export { connectBattery } from './connect-battery.js';
export { Battery, type BatteryEvents, type BatteryEvent } from './battery.js';
export type { BatteryOptions, BatteryMode } from './battery-options.js';
export type { Diagnostic, DiagnosticArea, DiagnosticSink } from './diagnostics.js';
export type { WatchCallback } from './watch-set.js';
export { BatteryError, isBatteryError, type ErrorCode } from '../shared-worker/protocol/errors.js';
export type { ExecResult, SqlParams, SqlRow, SqlValue } from '../shared-worker/protocol/values.js';
export type { Durability, MailboxSyncState, PeerSyncState, RTCIceServerInit, SyncProgress } from '../shared-worker/protocol/worker-protocol.js';
export { MAX_CLOCK_DRIFT_MS } from '../shared-worker/protocol/clock-drift.js';
export { estimateTokenBits, isStrongToken, MIN_TOKEN_BITS } from '../shared-worker/protocol/token-strength.js';
export { Ledger, type LedgerConfig, type LedgerEvent, type LedgerEvents } from './ledger.js';
