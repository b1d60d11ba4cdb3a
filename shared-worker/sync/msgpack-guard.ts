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
 * Nesting is bounded too (our deepest message, a live batch's cell, is 8 deep).
 * Nothing is allocated here: one pass, a stack of counts no deeper than `maxDepth`.
 */
import { BatteryError } from '../protocol/errors.js';

export const MAX_MSGPACK_DEPTH = 16;

function refuse(message: string): never {
  throw new BatteryError('BAD_OP', `malformed message: ${message}`);
}

/**
 * Throws BAD_OP unless `bytes` holds one msgpack value whose headers the data can back.
 * Runs once per message, over headers only (string/bin/ext bodies are skipped by length): no
 * closures, no DataView, multi-byte lengths read straight from the bytes.
 */
export function checkMsgpackShape(bytes: Uint8Array, maxDepth = MAX_MSGPACK_DEPTH): void {
  const end = bytes.length;
  /** Elements still owed by each open container, innermost at `depth`; the bottom is the top-level value. */
  const open = new Array<number>(maxDepth + 2).fill(0);
  let depth = 0;
  open[0] = 1;
  /** Sum of `open`: every one of them needs at least a byte. */
  let owed = 1;
  let pos = 0;

  while (depth >= 0) {
    if (open[depth] === 0) {
      depth--;
      continue;
    }
    open[depth]!--;
    owed--;
    if (pos >= end) refuse('truncated');
    const b = bytes[pos++]!;
    if (b <= 0x7f || b >= 0xe0) continue; // fixint
    /** Bytes of a body to skip, or elements of a container to open (-1: neither). */
    let skip = 0;
    let elements = -1;
    if (b <= 0x8f) elements = 2 * (b & 0x0f); // fixmap
    else if (b <= 0x9f) elements = b & 0x0f; // fixarray
    else if (b <= 0xbf) skip = b & 0x1f; // fixstr
    else {
      // Length prefixes: 1, 2 or 4 bytes, big-endian.
      let lenBytes = 0;
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break; // nil, false, true
        case 0xc4: case 0xd9: case 0xc7: lenBytes = 1; break; // bin8, str8, ext8
        case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde: lenBytes = 2; break; // bin16, str16, ext16, array16, map16
        case 0xc6: case 0xdb: case 0xc9: case 0xdd: case 0xdf: lenBytes = 4; break; // bin32, str32, ext32, array32, map32
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xca: case 0xce: case 0xd2: skip = 4; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break; // fixext 1..16: type + data
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
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
        else skip = b === 0xc7 || b === 0xc8 || b === 0xc9 ? n + 1 : n; // ext: length, type, data
      }
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
  }
  if (pos !== end) refuse(`${end - pos} bytes after the message`);
}
