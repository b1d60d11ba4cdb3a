// A fresh Vite app that installs rtc-battery from its packed tarball, as a user's project would:
// `npm pack` of this repository, examples/react-app's sources (React + Kysely) and an ordinary
// `npm install`. Made by spec/browser/run.mjs on the host network before the browser suites run
// in their private namespace (which has no registry); the packed-app test then builds, type-checks
// and opens it offline. Other packages come from the npm cache when it has them.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PACKED_APP_DIR = '.test-output/packed-app';

/** Versions the app asks for: the ones this repository tests with (so the npm cache has them). */
const APP_DEPENDENCIES = ['react', 'react-dom', 'kysely', 'vite', 'typescript', '@types/react', '@types/react-dom'];

function run(cmd, args, cwd, env = {}) {
  // Bounded: a registry that hangs must not hang the test run.
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Packs the built dist/ and installs it into a fresh app under .test-output/packed-app/app; returns the app's path. */
export function preparePackedApp(root) {
  for (const out of ['dist/rtc-battery.js', 'dist/react.js', 'dist/kysely.js']) {
    if (!existsSync(join(root, out))) throw new Error(`packed app: ${out} is missing; run npm run build first`);
  }
  const dir = join(root, PACKED_APP_DIR);
  rmSync(dir, { recursive: true, force: true });
  const app = join(dir, 'app');
  mkdirSync(app, { recursive: true });
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], root));
  const installed = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  const pkg = {
    name: 'packed-rtc-battery-app',
    private: true,
    type: 'module',
    dependencies: {
      'rtc-battery': `file:../${packed.filename}`,
      ...Object.fromEntries(APP_DEPENDENCIES.map((name) => [name, installed(name)])),
    },
  };
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const example = join(root, 'examples/react-app');
  for (const entry of ['index.html', 'src', 'vite.config.js']) cpSync(join(example, entry), join(app, entry), { recursive: true });
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  prepareServerInstall(root, dir);
  return app;
}

/** The rtc-battery-server package (the peer-server/ workspace), packed and installed on its own. */
function prepareServerInstall(root, dir) {
  if (!existsSync(join(root, 'peer-server/dist/server.js'))) throw new Error('packed app: peer-server/dist/server.js is missing; run npm run build first');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--workspace', 'peer-server', '--pack-destination', dir], root));
  const server = join(dir, 'server');
  mkdirSync(server, { recursive: true });
  writeFileSync(join(server, 'package.json'), `${JSON.stringify({ name: 'packed-server', private: true, dependencies: { 'rtc-battery-server': `file:../${packed.filename}` } }, null, 2)}\n`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], server, offerLocalSqliteAddon(root, dir));
}

/**
 * better-sqlite3's install script (prebuild-install) downloads a prebuilt addon from GitHub,
 * which these machines cannot reach, and then compiles SQLite from source: most of a minute on 2
 * cores, for an addon the repository's own install already compiled. So that addon is offered as
 * a local prebuild, prebuild-install's documented offline source (`npm_config_<package>_local_prebuilds`,
 * a directory of `<name>-v<version>-<runtime>-v<abi>-<platform><libc>-<arch>.tar.gz`): the install
 * script still runs and loads the addon it unpacked. Another version, or a libc other than glibc,
 * finds no matching file and compiles as before. Returns the environment of the install.
 */
function offerLocalSqliteAddon(root, dir) {
  const pkg = join(root, 'node_modules/better-sqlite3');
  const addon = 'build/Release/better_sqlite3.node';
  const glibc = process.platform !== 'linux' || Boolean(process.report?.getReport().header.glibcVersionRuntime);
  if (!glibc || !existsSync(join(pkg, addon))) return {};
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  const prebuilds = join(dir, 'prebuilds');
  mkdirSync(prebuilds, { recursive: true });
  const file = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  run('tar', ['-czf', join(prebuilds, file), '-C', pkg, addon], root);
  return { npm_config_better_sqlite3_local_prebuilds: prebuilds };
}
