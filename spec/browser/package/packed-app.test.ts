import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PACKED_APP_DIR } from '../harness/packed-app.mjs';
import { useDemoSession } from '../demo/demo-session.js';

// Every entry of the package as a user gets it: `npm pack`, installed into a fresh Vite app
// (spec/browser/run.mjs made it, see harness/packed-app.mjs), type-checked, built with the
// app's own Vite, and run in Chromium by two users of one room.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const app = join(root, PACKED_APP_DIR, 'app');
const out = join(app, 'dist');

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd: app, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Must compile against the installed package's .d.ts files (and the marked line must not). */
const TYPE_CHECK = `
import { connectBattery, type Battery, type ExecResult } from 'rtc-battery';
import { BatteryProvider, useQuery, type QueryState } from 'rtc-battery/react';
import { BatteryDialect } from 'rtc-battery/kysely';
import { Kysely } from 'kysely';
import { createElement } from 'react';

interface Note { id: string; body: string }
export async function check(): Promise<void> {
  const battery: Battery = await connectBattery({ dbName: 'x' });
  const r: ExecResult<Note> = await battery.exec<Note>('SELECT id, body FROM notes');
  const body: string = r.rows[0]!.body;
  // @ts-expect-error an unknown option is a type error too
  await connectBattery({ dbNmae: 'x' });
  const db = new Kysely<{ notes: Note }>({ dialect: new BatteryDialect({ battery }) });
  const rows: { id: string }[] = await db.selectFrom('notes').select('id').execute();
  // The Battery of 'rtc-battery' is the one the react entry expects (one copy of the class).
  createElement(BatteryProvider, { battery }, null);
  void body; void rows;
}
export function useNotes(): QueryState<Note> {
  return useQuery<Note>('SELECT id, body FROM notes');
}
`;

describe('the packed package in a fresh Vite app', () => {
  const session = useDemoSession({ '/packed/': out });

  it('installs without server dependencies; rtc-battery itself has none', () => {
    if (!existsSync(app)) throw new Error(`${PACKED_APP_DIR} is missing: spec/browser/run.mjs prepares it (npm pack + npm install)`);
    const installed = readdirSync(join(app, 'node_modules'));
    expect(installed).toContain('rtc-battery');
    for (const serverDep of ['express', 'peer', 'ws']) expect(installed).not.toContain(serverDep);
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/rtc-battery/package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.exports)).toEqual(['.', './react', './kysely', './battery-worker.js', './sql-wasm.wasm']);
    expect(readdirSync(join(app, 'node_modules/rtc-battery/dist')).sort()).toEqual([
      'battery-worker.js', 'battery-worker.js.map', 'kysely.d.ts', 'kysely.js', 'kysely.js.map', 'react.d.ts', 'react.js', 'react.js.map',
      'rtc-battery.d.ts', 'rtc-battery.js', 'rtc-battery.js.map', 'sql-wasm.wasm',
    ]);
  });

  it('the server is its own package: installed from its tarball, its bin answers --version', () => {
    const server = join(root, PACKED_APP_DIR, 'server');
    const version = JSON.parse(readFileSync(join(root, 'peer-server/package.json'), 'utf8')).version;
    const r = spawnSync(join(server, 'node_modules/.bin/rtc-battery-server'), ['--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.status).toBe(0);
    const installed = readdirSync(join(server, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['rtc-battery-server', 'express', 'peer', 'ws']));
    expect(installed).not.toContain('rtc-battery');
  });

  it('type-checks an app using the three entries against the installed .d.ts files', () => {
    writeFileSync(join(app, 'src/check.ts'), TYPE_CHECK);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, noEmit: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [] },
      files: ['src/check.ts'],
    }));
    run(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json']);
  });

  it('builds with the app\'s own Vite (no aliases) and two users of a room share notes through React and Kysely', async () => {
    run(join(app, 'node_modules/.bin/vite'), ['build', '--base', '/packed/', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { RTC_BATTERY_FROM_PACKAGE: '1' });
    const assets = readdirSync(join(out, 'assets'));
    expect(assets).toEqual(expect.arrayContaining([expect.stringMatching(/^battery-worker-[\w-]+\.js$/), expect.stringMatching(/^sql-wasm-[\w-]+\.wasm$/)]));

    const url = `${session().servers.siteUrl}packed/#packed-room-${Date.now()}`;
    const ann = await (await session().newUser('ann')).open(url, 'ann');
    const ben = await (await session().newUser('ben')).open(url, 'ben');
    for (const page of [ann, ben]) {
      await page.waitForFunction(() => document.getElementById('status')?.textContent === '1 peer connected · signaling connected', { polling: 50, timeout: 0 });
    }
    await ann.type('#body', 'from the tarball');
    await ann.keyboard.press('Enter');
    await ben.waitForFunction(() => document.querySelector('#notes li label')?.textContent?.trim() === 'from the tarball', { polling: 50, timeout: 0 });
    const workers = ann.browserContext().targets().filter((t) => t.type() === 'shared_worker').map((t) => new URL(t.url()).pathname);
    expect(workers).toEqual([expect.stringMatching(/^\/packed\/assets\/battery-worker-[\w-]+\.js$/)]);
  });
});
