/**
 * Decoded heap per message byte, for the floods msgpack-guard.ts refuses and for honest messages
 * (docs/security.md, "Decode cost"). Retained heap needs the gc hook, so run() measures in a child
 * `node --expose-gc`; directly: node --expose-gc --import tsx bench/decode-cost-bench.ts
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MAX_DECODE_COST_PER_BYTE } from '../shared-worker/sync/msgpack-guard.js';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { negativeZeroCodec } from '../shared-worker/replica/contracts/msgpack-negative-zero.js';
import { toWire } from '../shared-worker/sync/wire-changes.js';
import { checkMsgpackShape } from '../shared-worker/sync/msgpack-guard.js';
const dec = new Decoder({ maxStrLength: 16<<20, maxBinLength: 16<<20, maxArrayLength: 4<<20, maxMapLength: 1<<20, maxExtLength: 0, extensionCodec: negativeZeroCodec });
const enc = new Encoder({ extensionCodec: negativeZeroCodec });
const g = (globalThis as { gc?: () => void }).gc!;
const keep: unknown[] = [];
const lines: string[] = [];
function measure(name: string, bytes: Uint8Array) {
  let refused = false;
  try { checkMsgpackShape(bytes); } catch { refused = true; }
  g(); g();
  const before = process.memoryUsage().heapUsed;
  const v = dec.decode(bytes);
  g(); g();
  const after = process.memoryUsage().heapUsed;
  keep.push(v);
  const ratio = (after - before) / bytes.length;
  // A refused flood is fine at any ratio (it is never decoded); an accepted message must stay within the bound.
  const verdict = refused ? 'refused before decoding (info)' : `(goal <= ${MAX_DECODE_COST_PER_BYTE}) ${ratio <= MAX_DECODE_COST_PER_BYTE ? 'ok' : 'OVER'}`;
  lines.push(`decode heap per byte, ${name} (${bytes.length} bytes): ${ratio.toFixed(1)}x ${verdict}`);
}
function measureAll(): string[] {
function arrOf(n: number, elem: number[]) { const b = new Uint8Array(5 + n * elem.length); b[0] = 0xdd; new DataView(b.buffer).setUint32(1, n); for (let i = 0; i < n; i++) b.set(elem, 5 + i * elem.length); return b; }
const N = 1 << 20;
measure('empty maps (attack)', arrOf(N, [0x80]));
measure('empty arrays', arrOf(N, [0x90]));
measure('empty bins', arrOf(N, [0xc4, 0]));
measure('[1] arrays', arrOf(N, [0x91, 0x01]));
measure('{a:1} maps', arrOf(N, [0x81, 0xa1, 0x61, 0x01]));
measure('empty strs', arrOf(N, [0xa0]));
measure('2-char strs', arrOf(N, [0xa2, 0x61, 0x62]));
measure('fixints', arrOf(N, [0x01]));
measure('floats', arrOf(N, [0xcb, 0x3f, 0xf1, 0, 0, 0, 0, 0, 1]));
measure('empty extensions of an unknown type (attack)', arrOf(N, [0xc7, 0x00, 0x05]));
measure('-0 markers', arrOf(N, [0xc7, 0x00, 0x00]));
const now = Date.now() * 1024;
function piece(name: string, n: number, row: (i: number) => any, cols: string[]) {
  const rows = Array.from({ length: n }, (_, i) => row(i));
  measure(name, enc.encode({ t: 'delta', changes: toWire({ nodes: ['0123456789abcdef'], tables: [{ table: 'notes', columns: cols, rows }] }), last: false, upTo: null }));
}
piece('piece 2000 rows x 4 cols', 2000, (i) => ({ pk: ['row-' + i], put: [now + i, 0], del: null, cells: [[0, 'some text ' + i, now + i, 0], [1, i, now + i, 0], [2, i * 1.5, now + i, 0], [3, 'x', now + i, 0]] }), ['a', 'b', 'c', 'd']);
piece('piece 50000 int rows x 1 int col', 50000, (i) => ({ pk: [i & 127], put: [now, 0], del: null, cells: [[0, i & 127, now, 0]] }), ['a']);
piece('piece 50000 rows x 10 2-char cols', 50000, (i) => ({ pk: [i & 127], put: [now, 0], del: null, cells: Array.from({ length: 10 }, (_, c) => [c, 'ab', now, 0]) }), 'abcdefghij'.split(''));
piece('piece 50000 deletes', 50000, (i) => ({ pk: [i & 127], put: null, del: [now + i, 0], cells: [] }), ['a']);
piece('piece 20000 rows x 4 tiny blobs', 20000, (i) => ({ pk: [i], put: [now, 0], del: null, cells: Array.from({ length: 4 }, (_, c) => [c, new Uint8Array(1), now, 0]) }), 'abcd'.split(''));
piece('piece 20000 rows x 4 16-byte blobs', 20000, (i) => ({ pk: [i], put: [now, 0], del: null, cells: Array.from({ length: 4 }, (_, c) => [c, new Uint8Array(16), now, 0]) }), 'abcd'.split(''));
const vec: Record<string, number> = {}; for (let i = 0; i < 100000; i++) vec[i.toString(16).padStart(16, '0')] = now + i;
measure('hello 100k vector', enc.encode({ t: 'hello', protocol: 2, nodeId: '0123456789abcdef', fingerprints: {}, vector: vec }));
return lines;
}

export function run(): string[] {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return out.trim().split('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && (globalThis as { gc?: unknown }).gc !== undefined) for (const l of measureAll()) console.log(l);
