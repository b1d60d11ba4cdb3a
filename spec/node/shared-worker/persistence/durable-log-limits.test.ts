import { describe, expect, it } from 'vitest';
import type { ChangeSet, SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';
import { exceedsReplayLimits, replaySize } from '../../../../shared-worker/persistence/durable-log-limits.js';
import { MAX_VALUE_BYTES } from '../../../../shared-worker/protocol/limits.js';

function oneCell(value: SqlValue, pk: SqlValue = 'k'): ChangeSet {
  return { nodes: ['n'], tables: [{ table: 't', columns: ['c'], rows: [{ pk: [pk], put: [1, 0], del: null, cells: [[0, value, 1, 0]] }] }] };
}

describe('replay limits of a log record', () => {
  it('measures values as the remote validation does (UTF-8 for strings)', () => {
    // Short strings count len * 3 (an upper bound of their UTF-8 size), like remote-validation.ts.
    expect(replaySize(oneCell('é☃', 'k'))).toEqual({ rows: 1, cells: 1, bytes: 3 + 6, maxValue: 6 });
  });

  it('flags a value over the per-value cap, in a cell or in the key, and nothing smaller', () => {
    expect(exceedsReplayLimits(oneCell(new Uint8Array(MAX_VALUE_BYTES)))).toBe(false);
    expect(exceedsReplayLimits(oneCell(new Uint8Array(MAX_VALUE_BYTES + 1)))).toBe(true);
    expect(exceedsReplayLimits(oneCell(null, 'x'.repeat(MAX_VALUE_BYTES + 1)))).toBe(true);
    expect(exceedsReplayLimits(oneCell('x'.repeat(MAX_VALUE_BYTES / 2)))).toBe(false); // 0.5 MiB of ASCII
  });
});
