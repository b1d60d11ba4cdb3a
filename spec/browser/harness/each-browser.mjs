#!/usr/bin/env node
// Runs `vitest run --project <browser>` for each browser named by --browser (default: all),
// sequentially (one browser at a time: the machines this runs on have 2 cores), and exits with
// the first non-zero exit code, after running them all.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BROWSERS = ['chromium', 'firefox'];

/** Splits `--browser a,b` / `--browser=a` from the arguments meant for vitest. */
export function parseBrowserArgs(args) {
  const vitestArgs = [];
  let browsers = BROWSERS;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let value;
    if (arg === '--browser') value = args[++i];
    else if (arg.startsWith('--browser=')) value = arg.slice('--browser='.length);
    else {
      vitestArgs.push(arg);
      continue;
    }
    const named = String(value ?? '').split(',').filter(Boolean);
    const unknown = named.filter((b) => !BROWSERS.includes(b));
    if (named.length === 0 || unknown.length > 0) {
      throw new Error(`--browser ${value ?? ''}: expected one or more of ${BROWSERS.join(', ')} (comma-separated)`);
    }
    browsers = named;
  }
  return { browsers, vitestArgs };
}

function run(argv) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function main() {
  const { browsers, vitestArgs } = parseBrowserArgs(process.argv.slice(2));
  // A file filter may match no file of one browser's project (files that run once).
  const filtered = vitestArgs.some((a) => !a.startsWith('-'));
  let status = 0;
  for (const browser of browsers) {
    console.log(`\n=== browser suites on ${browser} ===`);
    const started = Date.now();
    const code = await run(['npx', 'vitest', 'run', '--project', browser, ...(filtered ? ['--passWithNoTests'] : []), ...vitestArgs]);
    console.log(`=== ${browser}: ${code === 0 ? 'passed' : `failed (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)} s ===`);
    if (status === 0) status = code;
  }
  process.exit(status);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(String(e?.message ?? e));
    process.exit(2);
  });
}
