import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSingleStatement } from '../../../../shared-worker/hub/read-tables.js';

// Printed so a failure can be replayed: FC_SEED=<seed> npx vitest run --project node spec/node/hub
const seed = Number(process.env.FC_SEED ?? 20261123);
console.log(`read-tables property seed: ${seed}`);

describe('isSingleStatement', () => {
  it.each([
    ['SELECT 1', true],
    ['SELECT 1;', true],
    ['  SELECT 1 ;  ;; -- trailing comment', true],
    ["SELECT ';' AS semi", true],
    ['SELECT "a;b" FROM t', true],
    ['SELECT [x;y] FROM t', true],
    ["SELECT 'it''s; fine'", true],
    ['SELECT 1 /* ; */', true],
    ['SELECT 1; SELECT 2', false],
    ['SELECT 1; DELETE FROM t', false],
    ["SELECT 'unterminated", false],
    ['', false],
    ['  -- only a comment', false],
  ])('%j -> %s', (sql, expected) => {
    expect(isSingleStatement(sql)).toBe(expected);
  });

  it('counts statements joined by semicolons, whatever quoted text they hold', () => {
    const quoted = fc.oneof(
      fc.string().map((s) => `'${s.replaceAll("'", "''")}'`),
      fc.string().map((s) => `"${s.replaceAll('"', '""')}"`),
      fc.string().filter((s) => !s.includes(']')).map((s) => `[${s}]`),
      fc.string().filter((s) => !s.includes('*/')).map((s) => `/*${s}*/`),
    );
    const statement = fc.array(quoted, { maxLength: 3 }).map((parts) => `SELECT ${parts.join(' , ')} x`);
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 4 }), fc.boolean(), (stmts, trailing) => {
        const sql = stmts.join(';') + (trailing ? ';' : '');
        expect(isSingleStatement(sql)).toBe(stmts.length === 1);
      }),
      { seed, numRuns: 300 },
    );
  });
});
