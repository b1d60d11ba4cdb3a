/** useSyncState(): the signaling connection, each peer's sync (connecting / syncing / caught-up) and the mailbox (sync-state.ts), kept current. */
import { useMemo, useSyncExternalStore } from 'react';
import { useBattery } from './battery-provider.js';
import { SyncStateStore, type SyncState } from './sync-state.js';

export function useSyncState(): SyncState {
  const battery = useBattery();
  const store = useMemo(() => new SyncStateStore(battery), [battery]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
