/**
 * `npm run bench`: runs every bench/*.ts that exports `run()`, one after another (they measure
 * ratios against baselines taken in the same process, so they must not overlap). A run() may
 * print its own lines or return them.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = false;
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run?: () => Promise<unknown> | unknown };
  if (typeof mod.run !== 'function') continue;
  console.log(`# ${file}`);
  try {
    const lines = await mod.run();
    if (Array.isArray(lines)) for (const line of lines) console.log(String(line));
  } catch (e) {
    failed = true;
    console.error(`${file} failed:`, e);
  }
}
process.exitCode = failed ? 1 : 0;
