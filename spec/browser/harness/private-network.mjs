// Runs a command inside a private network namespace with a veth pair when one can be made (root,
// or unprivileged user namespaces), as the README ("Browser tests") describes:
// headless Chromium on a loopback-only host gathers no ICE candidates, and on the host network it
// announces mDNS names (multicast leaving the machine). Elsewhere (macOS, no root, no
// `unshare`/`ip`) the command runs on the host network, with a one-line notice.
import { spawnSync, spawn } from 'node:child_process';

const RECIPE = [
  'ip link set lo up',
  'ip link add v0 type veth peer name v1',
  'ip addr add 198.51.100.1/24 dev v0',
  'ip link set v1 up',
  'ip link set v0 up',
  'ip route add default dev v0',
].join('; ');

const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** The `unshare` flags that can make the namespace here, or null. Tries the full recipe once. */
function unshareFlags() {
  if (process.platform !== 'linux' || !has('unshare') || !has('ip')) return null;
  // As root `unshare -n` is enough; otherwise map ourselves to root in a new user namespace.
  const variants = process.getuid?.() === 0 ? [['-n']] : [['-r', '-n'], ['-n']];
  return variants.find((flags) => spawnSync('unshare', [...flags, 'sh', '-c', `${RECIPE} && true`], { stdio: 'ignore' }).status === 0) ?? null;
}

/**
 * Spawns `argv` (inside the namespace when possible) with inherited stdio, forwards SIGINT/SIGTERM,
 * and exits this process with the child's exit code.
 */
export function runInPrivateNetwork(argv, { cwd = process.cwd(), label = 'rtc-battery' } = {}) {
  const flags = unshareFlags();
  const [cmd, args] = flags
    ? ['unshare', [...flags, 'sh', '-c', `${RECIPE}; exec ${argv.map(quote).join(' ')}`]]
    : [argv[0], argv.slice(1)];
  if (!flags) console.log(`${label}: no private network namespace possible here; running on the host network`);
  const child = spawn(cmd, args, { cwd, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
