/** usePeers(): the ids of the peers this replica is connected and authenticated to, kept current. */
import { useCallback, useRef, useSyncExternalStore } from 'react';
import type { BatteryEvent } from '../index.js';
import { useBattery } from './battery-provider.js';

/** Events after which getPeers() may answer differently. */
const PEER_EVENTS: readonly BatteryEvent[] = ['peer-join', 'peer-ready', 'peer-leave', 'connected', 'disconnected', 'reconnected'];

export function usePeers(): string[] {
  const battery = useBattery();
  const cached = useRef<string[]>([]);
  const subscribe = useCallback((onChange: () => void) => {
    for (const e of PEER_EVENTS) battery.on(e, onChange);
    return () => {
      for (const e of PEER_EVENTS) battery.off(e, onChange);
    };
  }, [battery]);
  const snapshot = useCallback(() => {
    const now = battery.getPeers();
    const prev = cached.current;
    // getPeers() returns a new array per call; the snapshot must stay the same object while equal.
    if (now.length !== prev.length || now.some((p, i) => p !== prev[i])) cached.current = now;
    return cached.current;
  }, [battery]);
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}
