export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One printed line per ratio, the shape of the Node benches (bench/bench-stats.ts):
 * `browser <name>: <ratio>x (goal <= <g>) ok|OVER [<subject> <x> <unit> vs <baseline> <y> <unit>]`.
 */
export function ratioLine(name: string, subject: [string, number], baseline: [string, number], unit: string, goal: number): string {
  const ratio = subject[1] / baseline[1];
  const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3));
  return `browser ${name}: ${ratio.toFixed(2)}x (goal <= ${goal.toFixed(1)}) ${ratio <= goal ? 'ok' : 'OVER'} [${subject[0]} ${fmt(subject[1])} ${unit} vs ${baseline[0]} ${fmt(baseline[1])} ${unit}]`;
}

/** With BENCH_VERBOSE=1, the samples behind a line go to stderr. */
export function detail(name: string, samples: Record<string, number[]>): void {
  if (!process.env.BENCH_VERBOSE) return;
  for (const [kind, values] of Object.entries(samples)) {
    console.error(`  ${name} ${kind}: ${values.map((v) => v.toFixed(3)).join(' ')}`);
  }
}
