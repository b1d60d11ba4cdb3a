// `npm start` must work right after `npm install`: build dist/ when it is missing or older than
// any source it is made from. Timestamps, not hashes: a `git checkout` that touches sources
// simply triggers a rebuild (about 10 s), which is the safe direction to be wrong in.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BUILD_OUTPUTS = [
  'dist/rtc-battery.js', 'dist/battery-worker.js', 'dist/sql-wasm.wasm', 'dist/react.js', 'dist/kysely.js', 'peer-server/dist/server.js',
];
/** Build output inside a source folder (the server package's peer-server/dist/) is not a source. */
const NOT_SOURCES = new Set(['dist', 'node_modules']);
const SOURCE_DIRS = ['lib', 'shared-worker', 'peer-server'];
const SOURCE_FILES = ['rollup.config.mjs', 'package.json'];

function newestMtime(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (!NOT_SOURCES.has(entry)) newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** Why a build is needed ('dist/x.js is missing', ...), or null when dist/ is up to date. */
export function staleReason(root) {
  let oldestOutput = Infinity;
  for (const out of BUILD_OUTPUTS) {
    const path = join(root, out);
    if (!existsSync(path)) return `${out} is missing`;
    oldestOutput = Math.min(oldestOutput, statSync(path).mtimeMs);
  }
  for (const src of [...SOURCE_DIRS, ...SOURCE_FILES]) {
    const path = join(root, src);
    if (existsSync(path) && newestMtime(path) > oldestOutput) return `${src} changed since the last build`;
  }
  return null;
}

/** Runs `npm run build` when needed; returns false if the build failed. */
export function buildIfStale(root, log = console.log) {
  const reason = staleReason(root);
  if (!reason) return true;
  log(`building dist/ (${reason}) ...`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  return result.status === 0;
}
