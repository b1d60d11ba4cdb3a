import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { checkMsgpackShape, DECODE_COST_ALLOWANCE, MAX_DECODE_COST_PER_BYTE, MAX_MSGPACK_DEPTH } from '../../../../shared-worker/sync/msgpack-guard.js';
import { encodePeerMessage, PROTOCOL_VERSION, type PeerMessage } from '../../../../shared-worker/sync/peer-protocol.js';
import { markNegativeZero, NEGATIVE_ZERO_EXT, negativeZeroCodec } from '../../../../shared-worker/replica/contracts/msgpack-negative-zero.js';
import { toWire } from '../../../../shared-worker/sync/wire-changes.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';

const SEED = 16_2026;
const N = 'a1a1a1a1a1a1a1a1';
const bytes = (...b: number[]) => new Uint8Array(b);
const repeat = (unit: number[], times: number) => new Uint8Array(unit.length * times).map((_, i) => unit[i % unit.length]!);
const refused = (b: Uint8Array) => expect(() => checkMsgpackShape(b)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));

describe('checkMsgpackShape (before decode: @msgpack/msgpack preallocates every array/map header)', () => {
  it('refuses nested 65535-element array headers: 3 bytes each, far fewer bytes than elements owed', () => {
    refused(repeat([0xdc, 0xff, 0xff], 3000));
    refused(repeat([0xde, 0xff, 0xff], 3000)); // map16
    refused(bytes(0xdd, 0xff, 0xff, 0xff, 0xff)); // one array32 of 4 G elements
    refused(bytes(0xdf, 0x00, 0x01, 0x00, 0x00)); // a map owing 131072 keys and values
  });

  it('refuses headers that owe one element more than the bytes left', () => {
    checkMsgpackShape(bytes(0x93, 1, 2, 3));
    refused(bytes(0x93, 1, 2)); // fixarray of 3 with 2 elements
    refused(bytes(0xdc, 0x00, 0x04, 1, 2, 3));
    refused(bytes(0x82, 1, 2, 3)); // fixmap of 2 = 4 elements, 3 bytes
  });

  it(`refuses nesting deeper than ${MAX_MSGPACK_DEPTH}, accepts it up to there`, () => {
    const nested = (depth: number) => new Uint8Array([...new Array<number>(depth).fill(0x91), 0xc0]);
    checkMsgpackShape(nested(MAX_MSGPACK_DEPTH));
    refused(nested(MAX_MSGPACK_DEPTH + 1));
  });

  it('refuses truncated strings, binaries and numbers, a reserved byte, and trailing bytes', () => {
    refused(bytes(0xa5, 0x61)); // fixstr of 5 with 1 byte
    refused(bytes(0xc6, 0x7f, 0xff, 0xff, 0xff, 0)); // bin32 of 2 GB
    refused(bytes(0xcb, 0, 0, 0)); // float64 cut short
    refused(bytes(0xc1));
    refused(bytes(0xc0, 0xc0));
    refused(bytes());
  });

  it('accepts every real peer message, -0 markers included', () => {
    const changes = {
      nodes: [N],
      tables: [{ table: 't', columns: ['a', 'b'], rows: [{ pk: ['k', -0], put: [5, 0] as [number, number], del: null, cells: [[0, -0, 5, 0], [1, new Uint8Array(300), 7, 0]] as Array<[number, unknown, number, number]> }] }],
    };
    const messages = [
      { t: 'hello', protocol: PROTOCOL_VERSION, nodeId: N, fingerprints: { t: 'x'.repeat(70) }, vector: { [N]: 2 ** 50 } },
      { t: 'live', madeAt: { [N]: 3 }, changes },
      { t: 'delta', changes, last: true, upTo: {} },
      { t: 'ack', vector: {}, handled: 70_000 },
      { t: 'bye', reason: 'ü'.repeat(100) },
    ] as PeerMessage[];
    for (const m of messages) checkMsgpackShape(encode(encodePeerMessage(m), { extensionCodec: negativeZeroCodec }));
  });

  /** One array32 holding `count` copies of `unit`. */
  const arrayOf = (unit: number[], count: number) => {
    const out = new Uint8Array(5 + unit.length * count);
    new DataView(out.buffer).setUint32(1, count);
    out[0] = 0xdd;
    for (let i = 0; i < count; i++) out.set(unit, 5 + i * unit.length);
    return out;
  };

  it(`refuses 8 MiB of empty maps before decoding (they held 64x their size), and every container flood above ${MAX_DECODE_COST_PER_BYTE}x`, () => {
    refused(arrayOf([0x80], 8 << 20)); // empty maps: 64 heap bytes per wire byte
    refused(arrayOf([0x90], 1 << 20)); // empty arrays: 40
    refused(arrayOf([0x91, 0x01], 1 << 20)); // [1]: 32 per 2 bytes
    refused(arrayOf([0xc4, 0x00], 1 << 20)); // empty binaries: a 104-byte view per 2 bytes
    refused(arrayOf([0x81, 0xa1, 0x61, 0x01], 1 << 20)); // {a: 1}: 64 per 4 bytes
  });

  it('lets small messages of any shape through on the allowance, and plain values at any size', () => {
    checkMsgpackShape(arrayOf([0x80], Math.floor(DECODE_COST_ALLOWANCE / 64) - 100));
    checkMsgpackShape(arrayOf([0xc0], 4 << 20)); // nil: 8 per byte
    checkMsgpackShape(arrayOf([0x01], 4 << 20)); // fixint: 8 per byte
    checkMsgpackShape(arrayOf([0xa2, 0x61, 0x62], 1 << 20)); // 2-char strings: 32 per 3 bytes
    checkMsgpackShape(arrayOf([0xcb, 0x3f, 0xf1, 0, 0, 0, 0, 0, 1], 1 << 20)); // floats: 24 per 9
  });

  it('accepts big honest change sets in the flat wire form (the cheapest per byte our peers send)', () => {
    const hlc = 1_795_446_279_102 * 1024;
    const big = (rows: ChangeSet['tables'][number]['rows'], columns: string[]) =>
      encode(encodePeerMessage({ t: 'live', madeAt: {}, signed: [], changes: { nodes: [N], tables: [{ table: 't', columns, rows }] } }), { extensionCodec: negativeZeroCodec });
    const tiny = Array.from({ length: 50_000 }, (_, i) => ({ pk: [i & 127], put: [hlc, 0] as [number, number], del: null, cells: [[0, i & 127, hlc, 0]] as Array<[number, number, number, number]> }));
    checkMsgpackShape(big(tiny, ['a']));
    const deletes = Array.from({ length: 50_000 }, (_, i) => ({ pk: [i & 127], put: null, del: [hlc + i, 0] as [number, number], cells: [] }));
    checkMsgpackShape(big(deletes, ['a']));
    const strings = Array.from({ length: 50_000 }, (_, i) => ({ pk: [i & 127], put: [hlc, 0] as [number, number], del: null, cells: Array.from({ length: 10 }, (_, c) => [c, 'ab', hlc, 0] as [number, string, number, number]) }));
    checkMsgpackShape(big(strings, 'abcdefghij'.split('')));
    expect(toWire({ nodes: [N], tables: [{ table: 't', columns: ['a'], rows: tiny.slice(0, 1) }] })[2][0][2]).toEqual([1, 0, 0, 0, null, 1, 0, 0]);
  });

  it(`accepts whatever msgpack encodes up to depth ${MAX_MSGPACK_DEPTH} (fast-check seed ${SEED})`, () => {
    const leaf = fc.oneof(
      fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map(Number),
      fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.constant(markNegativeZero(-0)),
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', maxDepth: MAX_MSGPACK_DEPTH - 1 }, leaf, tie('array'), tie('map')),
      array: fc.array(tie('value'), { maxLength: 20 }),
      map: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 20 }),
    }));
    fc.assert(fc.property(value, (v) => checkMsgpackShape(encode(v, { extensionCodec: negativeZeroCodec }))), { seed: SEED, numRuns: 500 });
  });

  it('refuses every msgpack extension but the empty -0 marker (an empty unknown one decoded to 48x its bytes)', () => {
    checkMsgpackShape(arrayOf([0xc7, 0x00, NEGATIVE_ZERO_EXT], 1 << 20));
    refused(arrayOf([0xc7, 0x00, 0x05], 1 << 20)); // empty ext8 of type 5: an ExtData and a view each
    refused(bytes(0xc7, 0x00, 0x05));
    refused(bytes(0xc7, 0x01, NEGATIVE_ZERO_EXT, 0x00)); // the marker's type with data
    checkMsgpackShape(bytes(0xc8, 0x00, 0x00, NEGATIVE_ZERO_EXT)); // the marker in ext16 form: still -0
    refused(bytes(0xc9, 0x00, 0x00, 0x00, 0x02, 0x05, 0x00, 0x00)); // ext32 with data
    refused(encode(new Date(0))); // timestamp (type -1): a Date
    for (const fixext of [0xd4, 0xd5, 0xd6, 0xd7, 0xd8]) refused(bytes(fixext, 0x05, ...new Array<number>(2 ** (fixext - 0xd4)).fill(0)));
    refused(bytes(0xc7, 0x00)); // type byte missing
  });
});
