/**
 * How strong a room token looks, and the minimum `connect()` asks for. Anyone who learns a room
 * id (it is in the signaling server's logs and URLs) can test token guesses against it offline,
 * so a token must be too big to guess even at the cost the room-id KDF puts on each try
 * (docs/security.md).
 *
 * The estimate assumes every character was drawn at random from the smallest of these alphabets
 * that holds all of the token's characters, and counts length × log2(alphabet size) bits:
 *
 *   digits 0-9 (10) · lowercase hex 0-9a-f (16) · lowercase letters and digits (36)
 *   · letters and digits (62) · base64url A-Za-z0-9-_ (64) · anything else (95, printable ASCII)
 *
 * Length is counted in UTF-16 code units. A token made by a person (a word, a PIN, a phrase)
 * scores higher than it is worth; the rule only stops tokens that are too short or drawn from too
 * small an alphabet, which is what a random generator gets wrong.
 */
export const MIN_TOKEN_BITS = 128;

const ALPHABETS: ReadonlyArray<{ size: number; pattern: RegExp }> = [
  { size: 10, pattern: /^[0-9]*$/ },
  { size: 16, pattern: /^[0-9a-f]*$/ },
  { size: 36, pattern: /^[0-9a-z]*$/ },
  { size: 62, pattern: /^[0-9A-Za-z]*$/ },
  { size: 64, pattern: /^[0-9A-Za-z_-]*$/ },
];
const OTHER_ALPHABET = 95;

/** Estimated bits of a token (see above); 0 for the empty string. */
export function estimateTokenBits(token: string): number {
  const size = ALPHABETS.find((a) => a.pattern.test(token))?.size ?? OTHER_ALPHABET;
  return token.length * Math.log2(size);
}

/** True when `estimateTokenBits(token) >= MIN_TOKEN_BITS`: e.g. 22 base64url or 32 hex characters. */
export function isStrongToken(token: string): boolean {
  return estimateTokenBits(token) >= MIN_TOKEN_BITS;
}
