import { describe, expect, it } from 'vitest';
import { covers, mergeVectors, missingFrom, vectorsEqual } from '../../../../shared-worker/replica/contracts/version-vector.js';
import { vectorOfChanges } from '../../../../shared-worker/sync/delta-pieces.js';

// Node ids that are also Object.prototype members: a lookup that is not own-keys-only reads the
// prototype's function, which compares as NaN (so "covers" everything and merges skip the node).
const PROTO_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

describe('version vectors read own entries only', () => {
  it.each(PROTO_NAMES)('mergeVectors keeps an entry for node %s', (node) => {
    expect(mergeVectors({}, { [node]: 5 })).toEqual({ [node]: 5 });
    expect(mergeVectors({ [node]: 7 }, { [node]: 5 })).toEqual({ [node]: 7 });
    expect(mergeVectors({ [node]: 3 }, { [node]: 5 })).toEqual({ [node]: 5 });
  });

  it.each(PROTO_NAMES)('covers / missingFrom treat a missing %s entry as 0', (node) => {
    expect(covers({}, { [node]: 7 })).toBe(false);
    expect(covers({ [node]: 7 }, { [node]: 7 })).toBe(true);
    expect(missingFrom({}, { [node]: 7 })).toEqual({ [node]: 7 });
    expect(vectorsEqual({}, { [node]: 7 })).toBe(false);
  });

  it.each(PROTO_NAMES)('vectorOfChanges records origin %s', (node) => {
    const cs = { nodes: [node], tables: [{ table: 't', columns: [], rows: [{ pk: ['a'], put: [9, 0] as [number, number], del: null, cells: [] }] }] };
    expect(vectorOfChanges(cs)).toEqual({ [node]: 9 });
  });
});
