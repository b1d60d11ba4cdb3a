/**
 * What every Node bench shares: CPU-time measurement with a GC before it, medians, and the one
 * line shape a script can read: `<name>: <ratio>x (goal <= <g>) ok|OVER [details]`.
 *
 * CPU time (process.cpuUsage), not wall time: the work is single-threaded, and CPU time stays
 * meaningful on a machine shared with other jobs (wall time there swings by 2x between runs).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
/** Collects garbage, so one side does not pay for the other's garbage. */
export const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Medians over at least this many interleaved runs. */
export const RUNS = 5;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** CPU milliseconds spent in `f` (awaited; idle waiting inside it costs nothing). */
export async function cpuMs(f: () => unknown): Promise<number> {
  collectGarbage();
  const t0 = process.cpuUsage();
  await f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

/** Runs the steps in an order that alternates with `run`, so drift and GC hit every side alike. */
export async function interleaved(run: number, steps: Array<() => Promise<void>>): Promise<void> {
  const order = run % 2 ? [...steps].reverse() : steps;
  for (const s of order) await s();
}

/** The bench line: `<name>: <ratio>x (goal <= <g>) ok|OVER`, details after it in brackets. */
export function benchLine(name: string, ratio: number, goal: number, details = '', comparison: '<=' | '<' = '<='): string {
  const ok = comparison === '<=' ? ratio <= goal : ratio < goal;
  return `${name}: ${ratio.toFixed(2)}x (goal ${comparison} ${goal.toFixed(1)}) ${ok ? 'ok' : 'OVER'}${details ? ` [${details}]` : ''}`;
}
