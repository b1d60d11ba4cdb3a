#!/usr/bin/env node
// Runs the browser suites (`vitest --project browser`) inside a private network namespace with a
// veth pair when one can be made (root, or unprivileged user namespaces), exactly as DESIGN.md
// "Testing WebRTC here" prescribes: headless Chromium on a loopback-only host gathers no ICE
// candidates, and on the host network it announces mDNS names (multicast leaving the machine).
// Elsewhere (macOS, no root, no `unshare`/`ip`) the same suites run on the host network.
// Builds nothing: `npm test` / `npm run test:browser` run `npm run build` first.
// Extra arguments are passed to vitest (e.g. a file filter).
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const extra = process.argv.slice(2);
const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const vitest = ['npx', 'vitest', 'run', '--project', 'browser', ...extra];

const netns = [
  'ip link set lo up',
  'ip link add v0 type veth peer name v1',
  'ip addr add 198.51.100.1/24 dev v0',
  'ip link set v1 up',
  'ip link set v0 up',
  'ip route add default dev v0',
];

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Can we make the namespace? Try the full recipe once with a no-op in place of vitest. */
function namespaceWorks(unshareArgs) {
  const probe = spawnSync('unshare', [...unshareArgs, 'sh', '-c', `${netns.join('; ')} && true`], { stdio: 'ignore' });
  return probe.status === 0;
}

function run(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const inner = `${netns.join('; ')}; exec ${vitest.map(quote).join(' ')}`;
if (process.platform === 'linux' && has('unshare') && has('ip')) {
  // As root `unshare -n` is enough; otherwise map ourselves to root in a new user namespace.
  const variants = process.getuid?.() === 0 ? [['-n']] : [['-r', '-n'], ['-n']];
  const usable = variants.find(namespaceWorks);
  if (usable) {
    run('unshare', [...usable, 'sh', '-c', inner]);
  } else {
    console.log('spec/browser/run.mjs: no private network namespace possible here; running on the host network');
    run(vitest[0], vitest.slice(1));
  }
} else {
  console.log('spec/browser/run.mjs: no private network namespace possible here; running on the host network');
  run(vitest[0], vitest.slice(1));
}
