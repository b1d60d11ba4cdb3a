/**
 * A msgpack writer for known shapes: the caller writes array headers and values in order, with no
 * intermediate arrays. It writes the bytes @msgpack/msgpack's Encoder writes for the same data
 * (the smallest integer form for safe integers, float 64 otherwise, str/bin/array headers by size,
 * JS UTF-8 for strings of up to 50 UTF-16 units and TextEncoder above, as that Encoder does), so
 * its Decoder reads them back unchanged. The generic Encoder spent most of a large log record's
 * time on per-value type dispatch and on trying the extension codec on every array (measured:
 * ~340 ms for a 100k-row change set, plus ~50 ms building the arrays it was given).
 */
import { utf8Length } from '../protocol/limits.js';
import type { SqlValue } from '../replica/contracts/change-set.js';

/** Extension type of -0 (msgpack-negative-zero.ts): an integer would bring it back as 0. */
const NEGATIVE_ZERO_EXT = 0;
const TEXT_ENCODER_THRESHOLD = 50;
const INITIAL_BYTES = 64 * 1024;
/** A buffer grown past this by one large record is dropped afterwards instead of kept. */
const KEEP_BYTES = 4 * 1024 * 1024;

const textEncoder = new TextEncoder();

export class MsgpackWriter {
  private bytes = new Uint8Array(INITIAL_BYTES);
  private view = new DataView(this.bytes.buffer);
  private pos = 0;

  /** The bytes written since the last finish(), as an exact copy; the writer starts over. */
  finish(): Uint8Array {
    const out = this.bytes.slice(0, this.pos);
    this.pos = 0;
    if (this.bytes.byteLength > KEEP_BYTES) {
      this.bytes = new Uint8Array(INITIAL_BYTES);
      this.view = new DataView(this.bytes.buffer);
    }
    return out;
  }

  /** Drops what was written (after an error mid-record). */
  discard(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.bytes.byteLength) return;
    const next = new Uint8Array(Math.max(this.bytes.byteLength * 2, this.pos + n));
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  nil(): void {
    this.ensure(1);
    this.bytes[this.pos++] = 0xc0;
  }

  arrayHeader(n: number): void {
    this.ensure(5);
    if (n < 16) this.bytes[this.pos++] = 0x90 + n;
    else if (n < 0x10000) {
      this.bytes[this.pos++] = 0xdc;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.bytes[this.pos++] = 0xdd;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  number(x: number): void {
    this.ensure(9);
    const b = this.bytes;
    const v = this.view;
    if (!Number.isSafeInteger(x)) {
      b[this.pos++] = 0xcb;
      v.setFloat64(this.pos, x);
      this.pos += 8;
    } else if (x >= 0) {
      if (x < 0x80) b[this.pos++] = x;
      else if (x < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = x;
      } else if (x < 0x10000) {
        b[this.pos++] = 0xcd;
        v.setUint16(this.pos, x);
        this.pos += 2;
      } else if (x < 0x100000000) {
        b[this.pos++] = 0xce;
        v.setUint32(this.pos, x);
        this.pos += 4;
      } else {
        b[this.pos++] = 0xcf;
        v.setUint32(this.pos, x / 0x100000000);
        v.setUint32(this.pos + 4, x);
        this.pos += 8;
      }
    } else if (x >= -0x20) b[this.pos++] = 0xe0 | (x + 0x20);
    else if (x >= -0x80) {
      b[this.pos++] = 0xd0;
      v.setInt8(this.pos++, x);
    } else if (x >= -0x8000) {
      b[this.pos++] = 0xd1;
      v.setInt16(this.pos, x);
      this.pos += 2;
    } else if (x >= -0x80000000) {
      b[this.pos++] = 0xd2;
      v.setInt32(this.pos, x);
      this.pos += 4;
    } else {
      b[this.pos++] = 0xd3;
      v.setUint32(this.pos, Math.floor(x / 0x100000000));
      v.setUint32(this.pos + 4, x);
      this.pos += 8;
    }
  }

  string(s: string): void {
    const n = utf8Length(s);
    this.ensure(5 + n);
    const b = this.bytes;
    if (n < 32) b[this.pos++] = 0xa0 + n;
    else if (n < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xda;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xdb;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
    if (s.length > TEXT_ENCODER_THRESHOLD) textEncoder.encodeInto(s, b.subarray(this.pos));
    else writeUtf8(s, b, this.pos);
    this.pos += n;
  }

  binary(x: Uint8Array): void {
    const n = x.byteLength;
    this.ensure(5 + n);
    if (n < 0x100) {
      this.bytes[this.pos++] = 0xc4;
      this.bytes[this.pos++] = n;
    } else if (n < 0x10000) {
      this.bytes[this.pos++] = 0xc5;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.bytes[this.pos++] = 0xc6;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
    this.bytes.set(x, this.pos);
    this.pos += n;
  }

  /** A SqlValue, -0 as the extension msgpack-negative-zero.ts decodes back to -0. */
  value(x: SqlValue): void {
    if (x === null) this.nil();
    else if (typeof x === 'number') {
      if (x === 0 && 1 / x < 0) {
        // ext 8 of length 0 (the Encoder's form for an empty extension), then its type.
        this.ensure(3);
        this.bytes[this.pos++] = 0xc7;
        this.bytes[this.pos++] = 0;
        this.bytes[this.pos++] = NEGATIVE_ZERO_EXT;
      } else this.number(x);
    } else if (typeof x === 'string') this.string(x);
    else if (x instanceof Uint8Array) this.binary(x);
    else throw new Error(`not an SQL value: ${Object.prototype.toString.call(x)}`);
  }
}

/** UTF-8 of `s` at `at`; a lone surrogate is written as its own 3-byte sequence. */
function writeUtf8(s: string, out: Uint8Array, at: number): void {
  let p = at;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[p++] = c;
      continue;
    }
    if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff);
        out[p++] = 0xf0 | (c >> 18);
        out[p++] = 0x80 | ((c >> 12) & 0x3f);
      } else out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 0x3f);
    }
    out[p++] = 0x80 | (c & 0x3f);
  }
}
