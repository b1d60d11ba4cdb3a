/**
 * The server package's version, for `--version`: read from the package.json beside this module
 * (the sources) or one folder up (dist/server.js).
 */
import { readFileSync } from 'node:fs';

export function serverVersion(): string {
  for (const relative of ['./package.json', '../package.json']) {
    let text: string;
    try {
      text = readFileSync(new URL(relative, import.meta.url), 'utf8');
    } catch {
      continue;
    }
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (typeof pkg.name === 'string' && pkg.name.startsWith('rtc-battery') && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}
