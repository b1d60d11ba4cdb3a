import { describe, expect, it } from 'vitest';
import { deriveRoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { openSealedChannel } from '../../../../shared-worker/sync/sealed-channel.js';

const data = new TextEncoder().encode('same input');

async function mac(key: CryptoKey): Promise<string> {
  return Buffer.from(await crypto.subtle.sign('HMAC', key, data)).toString('hex');
}

const auth = {
  initiatorNonce: new Uint8Array(32).fill(1),
  responderNonce: new Uint8Array(32).fill(2),
  initiatorPeerId: 'i',
  responderPeerId: 'r',
};

describe('deriveRoomKeys', () => {
  it('derives the same room id and keys from the same token', async () => {
    const [a, b] = await Promise.all([deriveRoomKeys('correct horse'), deriveRoomKeys('correct horse')]);
    expect(a.roomId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.roomId).toBe(b.roomId);
    expect(await mac(a.authKey)).toBe(await mac(b.authKey));
    const sealed = await (await openSealedChannel(a.encKey, auth, true)).seal(data);
    expect(await (await openSealedChannel(b.encKey, auth, false)).open(sealed)).toEqual(data);
  });

  it('derives different values from different tokens, and the room id is not the token', async () => {
    const [a, b] = await Promise.all([deriveRoomKeys('correct horse'), deriveRoomKeys('correct horsf')]);
    expect(a.roomId).not.toBe(b.roomId);
    expect(await mac(a.authKey)).not.toBe(await mac(b.authKey));
    const sealed = await (await openSealedChannel(a.encKey, auth, true)).seal(data);
    await expect((await openSealedChannel(b.encKey, auth, false)).open(sealed)).rejects.toMatchObject({ code: 'AUTH' });
    expect(a.roomId).not.toContain(Buffer.from('correct horse').toString('hex').slice(0, 8));
  });

  it('keeps the keys non-extractable', async () => {
    const k = await deriveRoomKeys('t');
    expect(k.authKey.extractable).toBe(false);
    expect(k.encKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', k.authKey)).rejects.toThrow();
  });

  it('refuses an empty token', async () => {
    await expect(deriveRoomKeys('')).rejects.toThrow(TypeError);
  });
});
