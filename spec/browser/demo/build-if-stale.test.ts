import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILD_OUTPUTS, staleReason } from '../../../examples/start/build-if-stale.mjs';

// When `npm start` rebuilds: dist/ missing or older than any source. Checked on a fake tree
// with explicit mtimes (no waiting for the clock).
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function file(root: string, path: string, mtimeSeconds: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, 'x');
  utimesSync(full, mtimeSeconds, mtimeSeconds);
}

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'rtc-battery-stale-'));
  roots.push(root);
  file(root, 'lib/index.ts', 1000);
  file(root, 'shared-worker/deep/replica.ts', 1000);
  file(root, 'peer-server/index.ts', 1000);
  file(root, 'package.json', 1000);
  return root;
}

describe('staleReason (npm start builds when this is not null)', () => {
  it('names a missing output', () => {
    const root = tree();
    expect(staleReason(root)).toBe('dist/rtc-battery.js is missing');
    for (const out of BUILD_OUTPUTS.slice(0, -1)) file(root, out, 2000);
    expect(staleReason(root)).toBe(`${BUILD_OUTPUTS.at(-1)} is missing`);
  });

  it('is null when every output is newer than every source', () => {
    const root = tree();
    for (const out of BUILD_OUTPUTS) file(root, out, 2000);
    expect(staleReason(root)).toBeNull();
  });

  it('names the source folder changed after the oldest output, however deep the file', () => {
    const root = tree();
    for (const out of BUILD_OUTPUTS) file(root, out, 2000);
    file(root, 'shared-worker/deep/replica.ts', 1500);
    utimesSync(join(root, 'peer-server/dist/server.js'), 1400, 1400);
    expect(staleReason(root)).toBe('shared-worker changed since the last build');
  });

  it('does not count the server package\'s own output (peer-server/dist/) as a source', () => {
    const root = tree();
    for (const out of BUILD_OUTPUTS) file(root, out, 2000);
    file(root, 'peer-server/cli.ts', 1000);
    utimesSync(join(root, 'dist/rtc-battery.js'), 1500, 1500);
    expect(staleReason(root)).toBeNull();
  });

  it('counts package.json and the rollup config as sources', () => {
    const root = tree();
    for (const out of BUILD_OUTPUTS) file(root, out, 2000);
    file(root, 'rollup.config.mjs', 3000);
    expect(staleReason(root)).toBe('rollup.config.mjs changed since the last build');
  });
});
