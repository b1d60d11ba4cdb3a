/**
 * rtc-battery/react: React bindings. React is a peer dependency; this entry imports the library
 * itself from 'rtc-battery', so an app that uses both ships it once.
 */
export { BatteryProvider, useBattery, type BatteryProviderProps } from './battery-provider.js';
export { useQuery, type QueryState } from './use-query.js';
export { usePeers } from './use-peers.js';
export { useSyncState } from './use-sync-state.js';
export type { PeerSyncPhase, SyncState } from './sync-state.js';
export type { MailboxSyncState, PeerSyncState } from '../index.js';
