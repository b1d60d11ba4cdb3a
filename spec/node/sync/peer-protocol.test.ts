import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, validatePeerMessage } from '../../../lib/peer-protocol.js';

const N = 'a1a1a1a1a1a1a1a1';
const cs = (tables: unknown[] = [], nodes: unknown[] = [N]) => ({ nodes, tables });
const table = (rows: unknown[], columns: unknown[] = ['v']) => ({ table: 't', columns, rows });
const row = (over: Record<string, unknown> = {}) => ({ pk: ['k'], put: [5, 0], del: null, cells: [[0, 'x', 5, 0]], ...over });
const live = (changes: unknown) => ({ t: 'live', madeAt: {}, changes });
const hello = (over: Record<string, unknown> = {}) => ({ t: 'hello', protocol: PROTOCOL_VERSION, nodeId: N, fingerprints: { t: 'fp' }, vector: { [N]: 3 }, ...over });

describe('validatePeerMessage', () => {
  it.each([
    ['hello', hello()],
    ['last delta piece', { t: 'delta', changes: cs([table([row()])]), last: true, upTo: { [N]: 5 } }],
    ['delta piece', { t: 'delta', changes: cs([table([row()])]), last: false, upTo: null }],
    ['live with every value kind', live(cs([table([row({ pk: [1, new Uint8Array([1])], cells: [[0, null, 1, 0], [1, 2.5, 2, 0], [2, new Uint8Array(3), 3, 0]] })], ['a', 'b', 'c'])]))],
    ['live with a delete', live(cs([table([row({ put: null, del: [9, 0], cells: [] })])]))],
    ['need', { t: 'need', since: {} }],
    ['ack', { t: 'ack', vector: { [N]: 1 }, handled: 3 }],
    ['ping', { t: 'ping', n: 0 }],
    ['pong', { t: 'pong', n: 7 }],
    ['bye', { t: 'bye', reason: 'closing' }],
  ])('accepts a well-formed %s', (_name, msg) => {
    expect(validatePeerMessage(msg)).toEqual(msg);
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
    ['hello with an overlong node id', hello({ nodeId: 'a'.repeat(65) })],
    ['hello with a non-string fingerprint', hello({ fingerprints: { t: 1 } })],
    ['hello with an array vector', hello({ vector: [1] })],
    ['hello with a negative vector entry', hello({ vector: { [N]: -1 } })],
    ['hello with a fractional vector entry', hello({ vector: { [N]: 1.5 } })],
    ['hello with an unsafe vector entry', hello({ vector: { [N]: 2 ** 60 } })],
    ['hello with a string vector entry', hello({ vector: { [N]: '1' } })],
    ['hello with an extra field', hello({ admin: true })],
    ['a vector keyed __proto__', hello({ vector: JSON.parse('{"__proto__": 1}') })],
    ['fingerprints keyed __proto__', hello({ fingerprints: JSON.parse('{"__proto__": "x"}') })],
    ['delta without last', { t: 'delta', changes: cs(), upTo: null }],
    ['delta with a string last', { t: 'delta', changes: cs(), last: 'yes', upTo: null }],
    ['delta without changes', { t: 'delta', last: true, upTo: {} }],
    ['a last delta piece without upTo', { t: 'delta', changes: cs(), last: true, upTo: null }],
    ['a delta piece with upTo before the last', { t: 'delta', changes: cs(), last: false, upTo: {} }],
    ['a last delta piece with a bad upTo', { t: 'delta', changes: cs(), last: true, upTo: { [N]: 'x' } }],
    ['changes without nodes', live({ tables: [] })],
    ['changes with a bad node id', live(cs([], [1]))],
    ['changes with an extra field', live({ nodes: [], tables: [], sql: 'DROP TABLE t' })],
    ['tables not an array', live(cs({} as unknown as unknown[]))],
    ['a table without a name', live(cs([{ columns: [], rows: [] }]))],
    ['an overlong table name', live(cs([{ ...table([]), table: 'x'.repeat(300) }]))],
    ['duplicate columns', live(cs([table([], ['v', 'v'])]))],
    ['a non-string column', live(cs([table([], [3])]))],
    ['a row that is not a map', live(cs([table([[1]])]))],
    ['a row with an empty key', live(cs([table([row({ pk: [] })])]))],
    ['a row with a NULL key part', live(cs([table([row({ pk: [null] })])]))],
    ['a row with an object key part', live(cs([table([row({ pk: [{}] })])]))],
    ['a put stamp with a node index out of range', live(cs([table([row({ put: [5, 1] })])]))],
    ['a put stamp of the wrong arity', live(cs([table([row({ put: [5] })])]))],
    ['a del stamp with a negative hlc', live(cs([table([row({ del: [-5, 0] })])]))],
    ['a cell of the wrong arity', live(cs([table([row({ cells: [[0, 'x', 5]] })])]))],
    ['a cell column out of range', live(cs([table([row({ cells: [[1, 'x', 5, 0]] })])]))],
    ['a cell node out of range', live(cs([table([row({ cells: [[0, 'x', 5, 3]] })])]))],
    ['a cell with NaN', live(cs([table([row({ cells: [[0, Number.NaN, 5, 0]] })])]))],
    ['a cell with Infinity', live(cs([table([row({ cells: [[0, Number.POSITIVE_INFINITY, 5, 0]] })])]))],
    ['a cell with a boolean', live(cs([table([row({ cells: [[0, true, 5, 0]] })])]))],
    ['a cell with an object', live(cs([table([row({ cells: [[0, { a: 1 }, 5, 0]] })])]))],
    ['a cell with a Date', live(cs([table([row({ cells: [[0, new Date(), 5, 0]] })])]))],
    ['a cell with an oversized blob', live(cs([table([row({ cells: [[0, new Uint8Array(8 * 1024 * 1024 + 1), 5, 0]] })])]))],
    ['more cells than columns', live(cs([table([row({ cells: [[0, 'x', 5, 0], [0, 'y', 5, 0]] })])]))],
    ['a row with an unknown field', live(cs([table([row({ extra: 1 })])]))],
    ['live without madeAt', { t: 'live', changes: cs() }],
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
