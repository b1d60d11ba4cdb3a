import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { encodePeerMessage, PROTOCOL_VERSION, validateChangeSet, validatePeerMessage, type PeerMessage } from '../../../../shared-worker/sync/peer-protocol.js';
import { fromWire, toWire } from '../../../../shared-worker/sync/wire-changes.js';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { negativeZeroCodec } from '../../../../shared-worker/replica/contracts/msgpack-negative-zero.js';

const SEED = 7_2026;

const N = 'a1a1a1a1a1a1a1a1';
const cs = (tables: unknown[] = [], nodes: unknown[] = [N]) => ({ nodes, tables });
const table = (rows: unknown[], columns: unknown[] = ['v']) => ({ table: 't', columns, rows });
const row = (over: Record<string, unknown> = {}) => ({ pk: ['k'], put: [5, 0], del: null, cells: [[0, 'x', 5, 0]], ...over });
/** A live message whose `changes` is already in (possibly malformed) wire form. */
const live = (changes: unknown) => ({ t: 'live', madeAt: {}, changes, signed: [] });
const liveMsg = (changes: unknown, signed: Uint8Array[] = []) => ({ t: 'live', madeAt: {}, changes, signed });
const wire = (changes: ChangeSet = { nodes: [N], tables: [] }) => toWire(changes);
const hello = (over: Record<string, unknown> = {}) => ({ t: 'hello', protocol: PROTOCOL_VERSION, nodeId: N, fingerprints: { t: 'fp' }, vector: { [N]: 3 }, ...over });

describe('validatePeerMessage', () => {
  it.each([
    ['hello', hello()],
    ['last delta piece', { t: 'delta', changes: cs([table([row()])]), signed: [new Uint8Array([1, 2])], last: true, upTo: { [N]: 5 } }],
    ['delta piece', { t: 'delta', changes: cs([table([row()])]), signed: [], last: false, upTo: null }],
    ['first delta piece with its total', { t: 'delta', changes: cs([table([row()])]), signed: [], last: false, upTo: null, total: { rows: 10, bytes: 900 } }],
    ['live with every value kind', liveMsg(cs([table([row({ pk: [1, new Uint8Array([1])], cells: [[0, null, 1, 0], [1, 2.5, 2, 0], [2, new Uint8Array(3), 3, 0]] })], ['a', 'b', 'c'])]))],
    ['live with a delete', liveMsg(cs([table([row({ put: null, del: [9, 0], cells: [] })])]))],
    ['live with signed sets', liveMsg(cs([]), [new Uint8Array([9]), new Uint8Array(300)])],
    ['need', { t: 'need', since: {} }],
    ['ack', { t: 'ack', vector: { [N]: 1 }, handled: 3 }],
    ['ping', { t: 'ping', n: 0 }],
    ['pong', { t: 'pong', n: 7 }],
    ['bye', { t: 'bye', reason: 'closing' }],
  ])('accepts a well-formed %s', (_name, msg) => {
    expect(validatePeerMessage(encodePeerMessage(msg as PeerMessage))).toEqual(msg);
  });

  it.each([
    ['not an object', 'hello'],
    ['null', null],
    ['an array', [1, 2]],
    ['a byte array', new Uint8Array(4)],
    ['no tag', { vector: {} }],
    ['an unknown tag', { t: 'sync-full', database: 'x' }],
    ['a non-string tag', { t: 1 }],
    ['hello without protocol', hello({ protocol: undefined })],
    ['hello with a bad node id', hello({ nodeId: 'has space' })],
    ['hello with an empty node id', hello({ nodeId: '' })],
    ['hello with an overlong node id', hello({ nodeId: 'a'.repeat(17) })],
    ['hello with node id constructor', hello({ nodeId: 'constructor' })],
    ['hello with an upper-case node id', hello({ nodeId: 'A1A1A1A1A1A1A1A1' })],
    ['a vector keyed constructor', hello({ vector: { constructor: 5 } })],
    ['a vector keyed toString', { t: 'ack', vector: { toString: 7 }, handled: 1 }],
    ['a vector keyed hasOwnProperty', { t: 'need', since: { hasOwnProperty: 1 } }],
    ['a vector keyed by a short id', { t: 'live', madeAt: { n1: 1 }, changes: wire() }],
    ['hello with a non-string fingerprint', hello({ fingerprints: { t: 1 } })],
    ['hello with an array vector', hello({ vector: [1] })],
    ['hello with a negative vector entry', hello({ vector: { [N]: -1 } })],
    ['hello with a fractional vector entry', hello({ vector: { [N]: 1.5 } })],
    ['hello with an unsafe vector entry', hello({ vector: { [N]: 2 ** 60 } })],
    ['hello with a string vector entry', hello({ vector: { [N]: '1' } })],
    ['hello with an extra field', hello({ admin: true })],
    ['a vector keyed __proto__', hello({ vector: JSON.parse('{"__proto__": 1}') })],
    ['fingerprints keyed __proto__', hello({ fingerprints: JSON.parse('{"__proto__": "x"}') })],
    ['delta without last', { t: 'delta', changes: wire(), upTo: null }],
    ['live without signed', { t: 'live', madeAt: {}, changes: wire() }],
    ['live with a signed set that is not bytes', { t: 'live', madeAt: {}, changes: wire(), signed: ['x'] }],
    ['live with an empty signed set', { t: 'live', madeAt: {}, changes: wire(), signed: [new Uint8Array(0)] }],
    ['delta with signed not an array', { t: 'delta', changes: wire(), signed: new Uint8Array(3), last: true, upTo: {} }],
    ['delta with a string last', { t: 'delta', changes: wire(), last: 'yes', upTo: null }],
    ['delta without changes', { t: 'delta', last: true, upTo: {} }],
    ['a last delta piece without upTo', { t: 'delta', changes: wire(), last: true, upTo: null }],
    ['a delta piece with upTo before the last', { t: 'delta', changes: wire(), last: false, upTo: {} }],
    ['a last delta piece with a bad upTo', { t: 'delta', changes: wire(), last: true, upTo: { [N]: 'x' } }],
    ['a delta total with negative rows', { t: 'delta', changes: wire(), last: false, upTo: null, total: { rows: -1, bytes: 0 } }],
    ['a delta total without bytes', { t: 'delta', changes: wire(), last: false, upTo: null, total: { rows: 1 } }],
    ['a delta total with an extra field', { t: 'delta', changes: wire(), last: false, upTo: null, total: { rows: 1, bytes: 1, x: 1 } }],
    ['a delta total that is a number', { t: 'delta', changes: wire(), last: false, upTo: null, total: 5 }],
    ['changes in the in-memory (map) form', { t: 'live', madeAt: {}, changes: cs() }],
    ['changes of the wrong arity', live([[N], 0])],
    ['changes with a negative base', live([[N], -1, []])],
    ['changes with a fractional base', live([[N], 0.5, []])],
    ['a table that is not a triple', live([[N], 0, [['t', ['v']]]])],
    ['rows that are not one flat array', live([[N], 0, [['t', ['v'], [[1, 'k', null, null, 0]]]]])],
    ['a row cut off in its key', live([[N], 0, [['t', ['v'], [2, 'k']]]])],
    ['a row cut off before its cell count', live([[N], 0, [['t', ['v'], [1, 'k', null, null]]]])],
    ['a row cut off in its cells', live([[N], 0, [['t', ['v'], [1, 'k', 0, 0, null, 2, 0, 'x']]]])],
    ['a negative key count', live([[N], 0, [['t', ['v'], [-1, null, null, 0]]]])],
    ['a fractional cell count', live([[N], 0, [['t', ['v'], [1, 'k', 0, 0, null, 0.5]]]])],
    ['a short cell in a row without put', live([[N], 0, [['t', ['v'], [1, 'k', null, null, 1, 0, 'x']]]])],
    ['a stamped cell cut short', live([[N], 0, [['t', ['v'], [1, 'k', 0, 0, null, 1, -1, 'x', 1]]]])],
    ['a non-integer cell column', live([[N], 0, [['t', ['v'], [1, 'k', 0, 0, null, 1, 'c', 'x']]]])],
    ['a negative stamp offset', live([[N], 10, [['t', ['v'], [1, 'k', -1, 0, null, 0]]]])],
    ['a stamp beyond 2^53', live([[N], Number.MAX_SAFE_INTEGER, [['t', ['v'], [1, 'k', 5, 0, null, 0]]]])],
    ['a stamp without its node', live([[N], 0, [['t', ['v'], [1, 'k', 1, null, 0]]]])],
    ['live without madeAt', { t: 'live', changes: wire() }],
    ['need with a bad vector', { t: 'need', since: { 'bad id!': 1 } }],
    ['ack without vector', { t: 'ack', handled: 1 }],
    ['ack without handled count', { t: 'ack', vector: {} }],
    ['ack with a fractional handled count', { t: 'ack', vector: {}, handled: 0.5 }],
    ['ping with a negative counter', { t: 'ping', n: -1 }],
    ['pong without a counter', { t: 'pong' }],
    ['bye with a non-string reason', { t: 'bye', reason: 5 }],
    ['bye with an overlong reason', { t: 'bye', reason: 'x'.repeat(2000) }],
  ])('rejects %s with BAD_OP', (_name, msg) => {
    expect(() => validatePeerMessage(msg)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
  });

  it.each([
    ['changes without nodes', { tables: [] }],
    ['changes with a bad node id', cs([], [1])],
    ['changes from node constructor', cs([table([row()])], ['constructor'])],
    ['changes from node toString', cs([table([row()])], ['toString'])],
    ['changes from a node id that is not 16 hex chars', cs([table([row()])], ['n1'])],
    ['changes with an extra field', { nodes: [], tables: [], sql: 'DROP TABLE t' }],
    ['tables not an array', cs({} as unknown as unknown[])],
    ['a table without a name', cs([{ columns: [], rows: [] }])],
    ['an overlong table name', cs([{ ...table([]), table: 'x'.repeat(300) }])],
    ['duplicate columns', cs([table([], ['v', 'v'])])],
    ['a non-string column', cs([table([], [3])])],
    ['a row that is not a map', cs([table([[1]])])],
    ['a row with an empty key', cs([table([row({ pk: [] })])])],
    ['a row with a NULL key part', cs([table([row({ pk: [null] })])])],
    ['a row with an object key part', cs([table([row({ pk: [{}] })])])],
    ['a put stamp with a node index out of range', cs([table([row({ put: [5, 1] })])])],
    ['a put stamp of the wrong arity', cs([table([row({ put: [5] })])])],
    ['a del stamp with a negative hlc', cs([table([row({ del: [-5, 0] })])])],
    ['a cell of the wrong arity', cs([table([row({ cells: [[0, 'x', 5]] })])])],
    ['a cell column out of range', cs([table([row({ cells: [[1, 'x', 5, 0]] })])])],
    ['a cell node out of range', cs([table([row({ cells: [[0, 'x', 5, 3]] })])])],
    ['a cell with NaN', cs([table([row({ cells: [[0, Number.NaN, 5, 0]] })])])],
    ['a cell with Infinity', cs([table([row({ cells: [[0, Number.POSITIVE_INFINITY, 5, 0]] })])])],
    ['a cell with a boolean', cs([table([row({ cells: [[0, true, 5, 0]] })])])],
    ['a cell with an object', cs([table([row({ cells: [[0, { a: 1 }, 5, 0]] })])])],
    ['a cell with a Date', cs([table([row({ cells: [[0, new Date(), 5, 0]] })])])],
    ['a cell with an oversized blob', cs([table([row({ cells: [[0, new Uint8Array(8 * 1024 * 1024 + 1), 5, 0]] })])])],
    ['more cells than columns', cs([table([row({ cells: [[0, 'x', 5, 0], [0, 'y', 5, 0]] })])])],
    ['a row with an unknown field', cs([table([row({ extra: 1 })])])],
  ])('validateChangeSet rejects %s with BAD_OP', (_name, changes) => {
    expect(() => validateChangeSet(changes)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
  });

  it(`wire form round-trips every change set (fast-check seed ${SEED})`, () => {
    const value = fc.oneof(fc.constant(null), fc.constant(-0), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.uint8Array({ maxLength: 4 }));
    const stamp = fc.tuple(fc.nat({ max: 2 ** 50 }), fc.nat(2));
    const rowArb = fc.record({
      pk: fc.array(fc.string(), { minLength: 1, maxLength: 2 }),
      put: fc.option(stamp, { nil: null }),
      del: fc.option(stamp, { nil: null }),
      cells: fc.array(fc.tuple(fc.nat(2), value, fc.nat({ max: 2 ** 50 }), fc.nat(2)), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 8 }), fc.boolean(), (rows, sameStamps) => {
        const changes = {
          nodes: ['a000000000000000', 'a000000000000001', 'a000000000000002'],
          tables: [{ table: 't', columns: ['a', 'b', 'c'], rows: rows.map((r) => (sameStamps && r.put ? { ...r, cells: r.cells.map((c) => [c[0], c[1], r.put![0], r.put![1]]) } : r)) }],
        } as ChangeSet;
        const wireForm = decode(encode(toWire(changes), { extensionCodec: negativeZeroCodec }), { extensionCodec: negativeZeroCodec });
        expect(validateChangeSet(fromWire(wireForm))).toEqual(changes);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('the wire form is smaller: about 60 instead of 110 bytes for a 4-column row', () => {
    const hlc = 1_795_446_279_102 * 1024;
    const rows = Array.from({ length: 1000 }, (_, i) => ({ pk: [`item-${i}`], put: [hlc + i, 0], del: null, cells: [[0, `title ${i}`, hlc + i, 0], [1, i, hlc + i, 0], [2, 'plain', hlc + i, 0]] }));
    const changes = { nodes: [N], tables: [{ table: 'items', columns: ['title', 'qty', 'note'], rows }] } as ChangeSet;
    const plain = encode(changes).length / 1000;
    const compact = encode(toWire(changes)).length / 1000;
    expect(plain).toBeGreaterThan(90);
    expect(compact).toBeLessThan(plain * 0.6);
  });

  it('reports another protocol version as VERSION, even if the rest of its hello is unfamiliar', () => {
    expect(() => validatePeerMessage({ t: 'hello', protocol: PROTOCOL_VERSION + 1, somethingNew: [] })).toThrow(
      expect.objectContaining({ code: 'VERSION' }),
    );
  });

  it('returns fresh objects, so nothing outside the known fields survives', () => {
    const raw = hello();
    const out = validatePeerMessage(raw);
    expect(out).not.toBe(raw);
  });
});
