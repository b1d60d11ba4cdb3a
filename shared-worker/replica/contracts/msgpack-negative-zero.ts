/**
 * -0 through msgpack. The encoder writes every safe integer, -0 included, as an integer, so -0
 * would come back as 0: a -0 cell would be stored differently after a restart (durable log) or on
 * another peer (sync), and replicas would no longer hold byte-identical tables. A value position
 * that may hold -0 goes through markNegativeZero before encoding (the codec only sees objects, not
 * numbers); the codec writes the marker as an empty extension and decodes that back to -0.
 * Used by the durable log (durable-log-record.ts) and the peer wire (sync/framing.ts, sync/wire-changes.ts).
 */
import { ExtensionCodec } from '@msgpack/msgpack';

export const NEGATIVE_ZERO_EXT = 0;

export class NegativeZero {}
const NEG_ZERO = new NegativeZero();

export const negativeZeroCodec = new ExtensionCodec();
negativeZeroCodec.register({
  type: NEGATIVE_ZERO_EXT,
  encode: (v: unknown) => (v instanceof NegativeZero ? new Uint8Array(0) : null),
  decode: () => -0,
});

/** The value itself, or the marker the codec encodes as -0. */
export function markNegativeZero<T>(x: T): T | NegativeZero {
  return Object.is(x, -0) ? NEG_ZERO : x;
}
