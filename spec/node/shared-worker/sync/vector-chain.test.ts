import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import type { ChainLink } from '../../../../shared-worker/sync/authored-batch.js';
import { capVector, PartsTally, vectorCeiling } from '../../../../shared-worker/sync/vector-chain.js';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
/** A body shaped as [payload, signature]: payload i, signature s. */
const part = (i: number, s = 0): Uint8Array => encode([new Uint8Array(20).fill(i), new Uint8Array(64).fill(s)]);
const link = (author: string, hlc: number, prev: number | null, parts = 1): ChainLink => ({ author, hlc, prev, parts });

describe('vector ceilings from signed chains', () => {
  it('follows a chain from our entry in stamp order, whatever the order of the sets', () => {
    expect(vectorCeiling([link(A, 30, 20), link(A, 10, 5), link(A, 20, 10)], { [A]: 5 })).toEqual({ [A]: 30 });
  });

  it('stops at the first set whose prev our entry does not cover', () => {
    expect(vectorCeiling([link(A, 10, 5), link(A, 30, 20)], { [A]: 5 })).toEqual({ [A]: 10 });
    expect(vectorCeiling([link(A, 30, 20)], {})).toEqual({ [A]: 0 });
  });

  it('a set of a stamp in several parts, or without a known prev, stops the chain', () => {
    expect(vectorCeiling([link(A, 10, 0, 2), link(A, 20, 10)], {})).toEqual({ [A]: 0 });
    expect(vectorCeiling([link(A, 10, null), link(A, 20, 10)], {})).toEqual({ [A]: 0 });
  });

  it('sets at or below our entry neither advance nor stop it', () => {
    expect(vectorCeiling([link(A, 4, null), link(A, 5, 0, 3), link(A, 10, 5)], { [A]: 5 })).toEqual({ [A]: 10 });
  });

  it('limits every author, each on its own chain (a peer\'s own sets too: its link does not prove its node id)', () => {
    expect(vectorCeiling([link(A, 30, 20), link(B, 7, 3)], { [B]: 3 })).toEqual({ [A]: 0, [B]: 7 });
  });

  it('caps a vector entry by entry, leaving unlisted nodes alone', () => {
    expect(capVector({ [A]: 30, [B]: 9 }, { [A]: 10 })).toEqual({ [A]: 10, [B]: 9 });
  });
});

describe('parts of cut stamps', () => {
  it('a stamp of n parts is whole once n different sets of it were seen, over several notes; a repeated set counts once', () => {
    const tally = new PartsTally();
    const l = link(A, 10, 0, 3);
    tally.note([l, l], [part(1), part(1)]);
    tally.note([l], [part(2)]);
    expect(vectorCeiling([l], {}, tally)).toEqual({ [A]: 0 });
    tally.note([l], [part(3)]);
    expect(vectorCeiling([l, link(A, 20, 10)], {}, tally)).toEqual({ [A]: 20 });
  });

  it('a part counts by its signed payload: other signatures of the same part (re-signed, malleated) count once', () => {
    const tally = new PartsTally();
    const l = link(A, 10, 0, 2);
    tally.note([l, l, l], [part(1, 1), part(1, 2), part(1, 3)]);
    expect(vectorCeiling([l], {}, tally)).toEqual({ [A]: 0 });
    tally.note([l], [part(2, 9)]);
    expect(vectorCeiling([l], {}, tally)).toEqual({ [A]: 10 });
  });

  it('parts of different cuts of one stamp (another prev or parts count) never add up; one whole cut is enough', () => {
    const tally = new PartsTally();
    const live = link(A, 10, 0, 2);
    const delta = link(A, 10, 5, 2);
    const recut = link(A, 10, 0, 3);
    tally.note([live, delta, recut, recut], [part(1), part(2), part(3), part(4)]);
    expect(vectorCeiling([live, delta, recut], {}, tally)).toEqual({ [A]: 0 });
    tally.note([delta], [part(5)]);
    expect(vectorCeiling([live, delta, recut, link(A, 20, 10)], { [A]: 5 }, tally)).toEqual({ [A]: 20 });
  });

  it('a flood of parts of one stamp (parts = 2^31) keeps the tally bounded: past its limit it starts over', () => {
    const tally = new PartsTally();
    const honest = link(A, 10, 0, 2);
    tally.note([honest, honest], [part(1), part(2)]);
    expect(tally.whole(honest)).toBe(true);
    const bogus = link(B, 10, 0, 2 ** 31);
    for (let i = 0; i < 65_536; i++) tally.note([bogus], [encode([Uint8Array.of(i & 255, (i >> 8) & 255), new Uint8Array(64)])]);
    expect(tally.whole(honest)).toBe(false);
  });
});
