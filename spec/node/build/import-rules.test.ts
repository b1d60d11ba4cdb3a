import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

// The same rule set `npm run check:imports` enforces on the real tree (docs/architecture.md).
const require = createRequire(import.meta.url);
const { forbidden } = require('../../../.dependency-cruiser.cjs') as { forbidden: unknown[] };
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/import-rules/', import.meta.url));

async function violations(baseDir: string, roots: string[]): Promise<string[]> {
  const result = await cruise(roots, {
    baseDir,
    validate: true,
    ruleSet: { forbidden } as never,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(spec|bench|examples|dist)/' },
    tsPreCompilationDeps: true,
  });
  const output = result.output as { summary: { violations: Array<{ from: string; to: string; rule: { name: string } }> } };
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('import rules', () => {
  it('fail on a forbidden import (fixture tree)', async () => {
    const found = await violations(fixture, ['lib', 'shared-worker', 'peer-server']);
    expect(found.sort()).toEqual([
      'page-imports-protocol-only: lib/page.ts -> shared-worker/replica/engine.ts',
      'sync-imports-protocol-and-contracts: shared-worker/sync/session.ts -> shared-worker/replica/engine.ts',
    ]);
  });

  it('hold for the real tree', async () => {
    expect(await violations(repo, ['lib', 'shared-worker', 'peer-server'])).toEqual([]);
  });
});
