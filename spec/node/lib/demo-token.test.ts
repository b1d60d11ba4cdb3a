import { describe, expect, it } from 'vitest';
import { estimateTokenBits, isStrongToken, MIN_TOKEN_BITS } from '../../../shared-worker/protocol/token-strength.js';
// @ts-expect-error -- plain browser JavaScript without types; Node 20 has crypto and btoa.
import { newToken } from '../../../examples/demo/room.js';

describe('the demo room token', () => {
  it('is 128 random bits in base64url, which connect() takes without allowWeakToken', () => {
    const tokens = Array.from({ length: 200 }, () => (newToken as () => string)());
    for (const t of tokens) {
      expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(t, 'base64url')).toHaveLength(16);
      expect(isStrongToken(t)).toBe(true);
      expect(estimateTokenBits(t)).toBeGreaterThanOrEqual(MIN_TOKEN_BITS);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});
