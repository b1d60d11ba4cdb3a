/**
 * <BatteryProvider> and useBattery(): one Battery handle for a React tree. Given `options`, the
 * provider opens the handle on mount (connectBattery), renders `fallback` until it is open, and
 * closes it on unmount; given `battery`, it only shares that handle (the caller owns it). A
 * failed open is thrown while rendering, so the nearest error boundary shows it.
 */
import { createContext, createElement, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { BatteryError, connectBattery, type Battery, type BatteryOptions } from '../index.js';

const BatteryContext = createContext<Battery | null>(null);

export type BatteryProviderProps =
  | { battery: Battery; options?: undefined; fallback?: ReactNode; children?: ReactNode }
  /** `options` are read on mount only; remount (a new `key`) to open another database. */
  | { options: BatteryOptions; battery?: undefined; fallback?: ReactNode; children?: ReactNode };

export function BatteryProvider(props: BatteryProviderProps): ReactNode {
  const given = props.battery ?? null;
  const options = useRef(props.options).current;
  const [opened, setOpened] = useState<Battery | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  useEffect(() => {
    if (given || !options) return;
    let cancelled = false;
    let battery: Battery | null = null;
    connectBattery(options).then(
      (b) => {
        battery = b;
        if (cancelled) void b.close();
        else setOpened(b);
      },
      (e: unknown) => {
        if (!cancelled) setFailure(e);
      },
    );
    return () => {
      cancelled = true;
      if (battery) void battery.close();
      setOpened(null);
    };
  }, [given, options]);

  if (failure !== null) throw failure;
  const battery = given ?? opened;
  if (!battery) return props.fallback ?? null;
  return createElement(BatteryContext.Provider, { value: battery }, props.children);
}

/** The provider's Battery handle; outside a provider it throws BAD_OP. */
export function useBattery(): Battery {
  const battery = useContext(BatteryContext);
  if (!battery) throw new BatteryError('BAD_OP', 'useBattery() and the rtc-battery hooks need a <BatteryProvider> above them');
  return battery;
}
