/**
 * The rtc-battery signaling server: npm `peer` mounted with ExpressPeerServer, plus room
 * membership (`GET <path>rooms/<roomId>`), a health endpoint, peer-id rules and limits.
 * The only entry of the server bundle (`peer-server/dist/server.js`); the CLI shim imports `runCli` from it.
 */
export { createBatteryServer } from './server.js';
export type { BatteryServer, BatteryServerStats } from './server.js';
export type { BatteryServerOptions } from './options.js';
export { DEFAULTS as SERVER_DEFAULTS } from './options.js';
export type { Logger } from './log.js';
export type { RefusalReason } from './admission.js';
export { runCli, parseCliArgs, USAGE } from './cli-main.js';
export type { MailboxOptions } from './mailbox/mailbox-options.js';
export { MAILBOX_DEFAULTS } from './mailbox/mailbox-options.js';
export type { MailboxStore, MailboxState, MailboxId, AppendOutcome, SnapshotOutcome, SnapshotSlice } from './mailbox/mailbox-store.js';
export { MemoryMailboxStore } from './mailbox/memory-mailbox-store.js';
