/**
 * A walk over msgpack headers before a peer's message is decoded.
 *
 * Why: @msgpack/msgpack (3.1.x) allocates `new Array(size)` for every array or map header as soon
 * as it reads it, before any element has arrived; maxArrayLength / maxMapLength only bound each
 * header on its own. 3 bytes (0xdc ff ff) announce 65535 elements, so a 9 KB message of nested
 * headers made the decoder hold ~3000 such arrays at once: 1.5 GB of heap from one sealed frame.
 *
 * Every element takes at least one byte, so a message that still owes more elements than it has
 * bytes left is malformed: refusing it bounds the decoder's preallocation by the message size.
 * Nesting is bounded too (our deepest message is 5 deep).
 *
 * What each element will cost once decoded is bounded as well (docs/security.md, "Decode cost"):
 * an empty map is one byte on the wire and ~64 bytes of heap, so 8 MiB of them held 512 MiB.
 * The pass adds up an upper estimate of the heap the decoded value will hold (DECODED_COST,
 * measured on Node 20) and refuses a message whose estimate exceeds MAX_DECODE_COST_PER_BYTE
 * times its size plus DECODE_COST_ALLOWANCE, before anything is materialized.
 * Nothing is allocated here: one pass, a stack of counts no deeper than `maxDepth`.
 */
import { BatteryError } from '../protocol/errors.js';
import { NEGATIVE_ZERO_EXT } from '../replica/contracts/msgpack-negative-zero.js';

export const MAX_MSGPACK_DEPTH = 16;

/**
 * Upper estimates of the heap bytes @msgpack/msgpack 3.1 makes V8 hold per decoded element,
 * each including the 8-byte slot its container spends on it (measured with --expose-gc over 1 Mi
 * elements: empty map 64, empty array 40, bin view 104, short string 32, heap number 24,
 * nil/bool/small int 8).
 */
const DECODED_COST = {
  slot: 8,
  /** Beyond the slot: a JS object with in-object properties; each property adds a dictionary entry at most. */
  map: 56,
  mapEntry: 24,
  /** Beyond the slot: JSArray + FixedArray header; every element's slot is counted with the element. */
  array: 32,
  /** Beyond the slot: a Uint8Array view into the message buffer (its bytes are not copied). */
  bin: 96,
  /** Beyond the slot: a string header (strings of 2+ bytes); the body is at most 2 bytes per UTF-8 byte, rounded to 8. */
  string: 16,
  /** Beyond the slot: a boxed double (floats, 32/64-bit integers, the -0 extension). */
  heapNumber: 16,
} as const;

/**
 * Decoded heap per message byte at most (plus the allowance). Our wire form keeps rows flat
 * (wire-changes.ts), so honest messages stay below ~11 (a run of 2-character strings: 3 bytes, 32
 * bytes of heap); what costs more per byte is nested containers, empty maps or tiny binaries.
 */
export const MAX_DECODE_COST_PER_BYTE = 12;
/** Fixed headroom per message: a small message's few maps and arrays may cost more than 12x. */
export const DECODE_COST_ALLOWANCE = 256 * 1024;

/** The decode cost bound of a message of `bytes` bytes (what checkMsgpackShape enforces). */
function maxDecodeCost(bytes: number, allowance: number): number {
  return MAX_DECODE_COST_PER_BYTE * bytes + allowance;
}

const round8 = (n: number) => (n + 7) & ~7;

const NOT_THE_MARKER = 'msgpack extension other than the empty -0 marker';

function refuse(message: string): never {
  throw new BatteryError('BAD_OP', `malformed message: ${message}`);
}

/**
 * Throws BAD_OP unless `bytes` holds one msgpack value whose headers the data can back.
 * Runs once per message, over headers only (string/bin/ext bodies are skipped by length): no
 * closures, no DataView, multi-byte lengths read straight from the bytes.
 */
export function checkMsgpackShape(bytes: Uint8Array, maxDepth = MAX_MSGPACK_DEPTH, allowance = DECODE_COST_ALLOWANCE): void {
  const end = bytes.length;
  /** Elements still owed by each open container, innermost at `depth`; the bottom is the top-level value. */
  const open = new Array<number>(maxDepth + 2).fill(0);
  let depth = 0;
  open[0] = 1;
  /** Sum of `open`: every one of them needs at least a byte. */
  let owed = 1;
  let pos = 0;
  /** Estimated decoded heap so far (DECODED_COST); checked whenever it grows by a container or body. */
  let cost = 0;
  const budget = maxDecodeCost(end, allowance);
  const { slot } = DECODED_COST;

  while (depth >= 0) {
    if (open[depth] === 0) {
      depth--;
      continue;
    }
    open[depth]!--;
    owed--;
    if (pos >= end) refuse('truncated');
    const b = bytes[pos++]!;
    cost += slot;
    if (b <= 0x7f || b >= 0xe0) continue; // fixint
    /** Bytes of a body to skip, or elements of a container to open (-1: neither). */
    let skip = 0;
    let elements = -1;
    /** What the body to skip becomes: a string, a binary view, or a number (boxed above 16 bits). */
    let body: 'string' | 'bin' | 'number' | 'none' = 'none';
    if (b <= 0x8f) elements = 2 * (b & 0x0f); // fixmap
    else if (b <= 0x9f) elements = b & 0x0f; // fixarray
    else if (b <= 0xbf) {
      skip = b & 0x1f; // fixstr
      body = 'string';
    } else {
      // Length prefixes: 1, 2 or 4 bytes, big-endian.
      let lenBytes = 0;
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break; // nil, false, true
        case 0xc4: case 0xd9: case 0xc7: lenBytes = 1; break; // bin8, str8, ext8
        case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde: lenBytes = 2; break; // bin16, str16, ext16, array16, map16
        case 0xc6: case 0xdb: case 0xc9: case 0xdd: case 0xdf: lenBytes = 4; break; // bin32, str32, ext32, array32, map32
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xca: case 0xce: case 0xd2: skip = 4; body = 'number'; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 8; body = 'number'; break;
        // fixext 1..16 carry data; the only extension we send is the empty -0 marker (ext8 below).
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: refuse(NOT_THE_MARKER); break;
        default: refuse(`unknown msgpack byte 0x${b.toString(16)}`); // 0xc1
      }
      if (lenBytes > 0) {
        if (lenBytes > end - pos) refuse('truncated');
        let n = bytes[pos]!;
        if (lenBytes >= 2) n = n * 256 + bytes[pos + 1]!;
        if (lenBytes === 4) n = (n * 256 + bytes[pos + 2]!) * 256 + bytes[pos + 3]!;
        pos += lenBytes;
        if (b === 0xdc || b === 0xdd) elements = n; // array16, array32
        else if (b === 0xde || b === 0xdf) elements = 2 * n; // map16, map32
        else if (b === 0xc7 || b === 0xc8 || b === 0xc9) {
          // ext: length, type, data. Only the -0 marker (length 0, type 0) decodes to a number;
          // any other type becomes an ExtData object and a view, ~130 bytes of heap from 3 bytes.
          if (n !== 0 || pos >= end || bytes[pos] !== NEGATIVE_ZERO_EXT) refuse(NOT_THE_MARKER);
          skip = 1;
          body = 'number';
        } else {
          skip = n;
          body = b === 0xc4 || b === 0xc5 || b === 0xc6 ? 'bin' : 'string';
        }
      }
    }
    if (elements >= 0) {
      // Containers: fixmap/map headers are even element counts (keys and values).
      const isMap = (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
      cost += isMap ? DECODED_COST.map + (elements / 2) * DECODED_COST.mapEntry : DECODED_COST.array;
      if (cost > budget) refuse(`decoding would cost more than ${budget} bytes of heap (${end} bytes of message)`);
    }
    if (elements > 0) {
      if (depth >= maxDepth) refuse(`nested deeper than ${maxDepth}`);
      owed += elements;
      if (owed > end - pos) refuse(`headers announce ${owed} elements with ${end - pos} bytes left`);
      open[++depth] = elements;
    } else if (skip > 0) {
      if (skip > end - pos) refuse('truncated');
      pos += skip;
    }
    // Empty and one-byte strings are V8's shared single-character strings: only the slot.
    if (body === 'string') cost += skip <= 1 ? 0 : DECODED_COST.string + round8(2 * skip);
    else if (body === 'bin') cost += DECODED_COST.bin;
    else if (body === 'number') cost += DECODED_COST.heapNumber;
    if (body !== 'none' && cost > budget) refuse(`decoding would cost more than ${budget} bytes of heap (${end} bytes of message)`);
  }
  if (pos !== end) refuse(`${end - pos} bytes after the message`);
}
