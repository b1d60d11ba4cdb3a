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
import { BatteryError } from '../shared-worker/errors.js';

export const MAX_MSGPACK_DEPTH = 16;

function refuse(message: string): never {
  throw new BatteryError('BAD_OP', `malformed message: ${message}`);
}

/** Throws BAD_OP unless `bytes` holds one msgpack value whose headers the data can back. */
export function checkMsgpackShape(bytes: Uint8Array, maxDepth = MAX_MSGPACK_DEPTH): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  /** Elements still owed by each open container, innermost last; the bottom is the top-level value. */
  const open: number[] = [1];
  /** Sum of `open`: every one of them needs at least a byte. */
  let owed = 1;
  let pos = 0;
  const need = (n: number) => {
    if (n > end - pos) refuse('truncated');
  };
  const skip = (n: number) => {
    need(n);
    pos += n;
  };
  const u8 = () => (need(1), view.getUint8(pos++));
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4));
  const container = (elements: number) => {
    if (elements === 0) return;
    if (open.length > maxDepth) refuse(`nested deeper than ${maxDepth}`);
    owed += elements;
    if (owed > end - pos) refuse(`headers announce ${owed} elements with ${end - pos} bytes left`);
    open.push(elements);
  };

  while (open.length > 0) {
    if (open[open.length - 1] === 0) {
      open.pop();
      continue;
    }
    open[open.length - 1]!--;
    owed--;
    const b = u8();
    if (b <= 0x7f || b >= 0xe0) continue; // fixint
    if (b <= 0x8f) container(2 * (b & 0x0f)); // fixmap
    else if (b <= 0x9f) container(b & 0x0f); // fixarray
    else if (b <= 0xbf) skip(b & 0x1f); // fixstr
    else {
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break; // nil, false, true
        case 0xc4: case 0xd9: skip(u8()); break; // bin8, str8
        case 0xc5: case 0xda: skip(u16()); break; // bin16, str16
        case 0xc6: case 0xdb: skip(u32()); break; // bin32, str32
        case 0xc7: skip(u8() + 1); break; // ext8: length, type, data
        case 0xc8: skip(u16() + 1); break;
        case 0xc9: skip(u32() + 1); break;
        case 0xcc: case 0xd0: skip(1); break;
        case 0xcd: case 0xd1: skip(2); break;
        case 0xca: case 0xce: case 0xd2: skip(4); break;
        case 0xcb: case 0xcf: case 0xd3: skip(8); break;
        case 0xd4: skip(2); break; // fixext 1..16: type + data
        case 0xd5: skip(3); break;
        case 0xd6: skip(5); break;
        case 0xd7: skip(9); break;
        case 0xd8: skip(17); break;
        case 0xdc: container(u16()); break; // array16
        case 0xdd: container(u32()); break; // array32
        case 0xde: container(2 * u16()); break; // map16
        case 0xdf: container(2 * u32()); break; // map32
        default: refuse(`unknown msgpack byte 0x${b.toString(16)}`); // 0xc1
      }
    }
  }
  if (pos !== end) refuse(`${end - pos} bytes after the message`);
}
