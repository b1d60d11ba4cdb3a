import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { checkMsgpackShape, MAX_MSGPACK_DEPTH } from '../../../../shared-worker/sync/msgpack-guard.js';
import { encodePeerMessage, PROTOCOL_VERSION, type PeerMessage } from '../../../../shared-worker/sync/peer-protocol.js';
import { negativeZeroCodec } from '../../../../shared-worker/replica/contracts/msgpack-negative-zero.js';

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

  it(`accepts whatever msgpack encodes up to depth ${MAX_MSGPACK_DEPTH} (fast-check seed ${SEED})`, () => {
    const leaf = fc.oneof(
      fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map(Number),
      fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.constant(new Date(0)),
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', maxDepth: MAX_MSGPACK_DEPTH - 1 }, leaf, tie('array'), tie('map')),
      array: fc.array(tie('value'), { maxLength: 20 }),
      map: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 20 }),
    }));
    fc.assert(fc.property(value, (v) => checkMsgpackShape(encode(v))), { seed: SEED, numRuns: 500 });
  });
});
