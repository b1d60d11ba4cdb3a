import { hkdfSync, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveRoomKeys, ROOM_KDF_ITERATIONS } from '../../../../shared-worker/sync/room-keys.js';

describe('room keys', () => {
  it('derive the room id through PBKDF2-SHA-256 at ROOM_KDF_ITERATIONS, then HKDF', async () => {
    expect(ROOM_KDF_ITERATIONS).toBeGreaterThanOrEqual(600_000);
    const token = 'aV3x-9qT_2mPz8Lr0bWc4k';
    const stretched = pbkdf2Sync(token, 'rtc-battery/room-kdf/v2', ROOM_KDF_ITERATIONS, 32, 'sha256');
    const expected = Buffer.from(hkdfSync('sha256', stretched, 'rtc-battery/room/v2', 'rtc-battery/room-id/v2', 16)).toString('hex');
    expect((await deriveRoomKeys(token)).roomId).toBe(expected);
  });
});
