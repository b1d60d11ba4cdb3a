import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import {
  createSigningIdentity,
  exportSigningIdentity,
  importSigningIdentity,
  nodeIdOfPublicKey,
  cryptoBytes,
  SIGNATURE_ALGORITHMS,
  type SignatureScheme,
} from '../../../../shared-worker/replica/contracts/signing-identity.js';
import { signChangeSet, verifyChangeSet } from '../../../../shared-worker/sync/change-set-signature.js';
import { negativeZeroCodec } from '../../../../shared-worker/replica/contracts/msgpack-negative-zero.js';
import { toWire } from '../../../../shared-worker/sync/wire-changes.js';

const H = 2 ** 50;
const changes = (node: string, value = 'x', pk0 = -0): ChangeSet => ({
  nodes: [node],
  tables: [{ table: 't', columns: ['v', 'w'], rows: [{ pk: ['k', pk0], put: [H, 0], del: null, cells: [[0, value, H, 0], [1, new Uint8Array([1, 2]), H, 0]] }] }],
});
const refused = (p: Promise<unknown>, code = 'AUTH') => expect(p).rejects.toMatchObject({ code });

/** Re-packs a body with its payload fields changed by `edit` (keeping the original signature). */
function repack(body: Uint8Array, edit: (payload: unknown[]) => void, signature?: Uint8Array): Uint8Array {
  const [payload, sig] = decode(body) as [Uint8Array, Uint8Array];
  const fields = decode(payload, { extensionCodec: negativeZeroCodec }) as unknown[];
  edit(fields);
  return encode([encode(fields, { extensionCodec: negativeZeroCodec }), signature ?? sig]);
}

describe.each(['Ed25519', 'ECDSA-P256'] as SignatureScheme[])('signed change sets (%s)', (scheme) => {
  it('binds the node id to the public key and verifies an intact set to its author and stamp', async () => {
    const me = await createSigningIdentity([scheme]);
    expect(me.scheme).toBe(scheme);
    expect(me.nodeId).toMatch(/^[0-9a-f]{16}$/);
    expect(me.nodeId).toBe(await nodeIdOfPublicKey(me.publicKey));
    const body = await signChangeSet(me, changes(me.nodeId));
    const v = await verifyChangeSet(body);
    expect({ author: v.author, hlc: v.hlc }).toEqual({ author: me.nodeId, hlc: H });
    expect(v.body).toBe(body);
    expect(Object.is(v.changes.tables[0]!.rows[0]!.pk[1], -0)).toBe(true);
  });

  it('refuses a set whose value, stamp, key or claimed author was changed after signing', async () => {
    const me = await createSigningIdentity([scheme]);
    const other = await createSigningIdentity([scheme]);
    const body = await signChangeSet(me, changes(me.nodeId), { prev: H - 5, parts: 2 });
    expect(await verifyChangeSet(body)).toMatchObject({ prev: H - 5, parts: 2 });
    const tampered = [
      repack(body, (f) => { f[7] = toWire(changes(me.nodeId, 'y')); }),
      repack(body, (f) => { f[7] = toWire(changes(me.nodeId, 'x', 0)); }), // -0 is not 0
      repack(body, (f) => { f[4] = H + 1; f[7] = toWire({ ...changes(me.nodeId), tables: [] }); }),
      // Its place in the author's chain: a lower prev (skipping stamps) or a whole stamp of parts.
      repack(body, (f) => { f[5] = 0; }),
      repack(body, (f) => { f[6] = 1; }),
      // Another member's key with the original author's id: the key names another node.
      repack(body, (f) => { f[2] = other.publicKey; }),
      // Another member re-labels the set as its own: the signature is not its.
      repack(body, (f) => { f[2] = other.publicKey; f[3] = other.nodeId; f[7] = toWire(changes(other.nodeId)); }),
    ];
    for (const t of tampered) await refused(verifyChangeSet(t));
    // A flipped byte anywhere in the body: refused (AUTH, or BAD_OP when it no longer decodes).
    for (let i = 0; i < body.length; i += 7) {
      const flipped = body.slice();
      flipped[i] ^= 0x01;
      await expect(verifyChangeSet(flipped)).rejects.toMatchObject({ code: expect.stringMatching(/^(AUTH|BAD_OP)$/) });
    }
  });

  it('still takes a set of protocol 3 (no prev, no parts) as one whose predecessor is unknown', async () => {
    const me = await createSigningIdentity([scheme]);
    const payload = encode(['rtc-battery signed set v1', me.scheme, me.publicKey, me.nodeId, H, toWire(changes(me.nodeId))], { extensionCodec: negativeZeroCodec });
    const signature = new Uint8Array(await crypto.subtle.sign(SIGNATURE_ALGORITHMS[scheme].sign, me.privateKey, cryptoBytes(payload)));
    const v = await verifyChangeSet(encode([payload, signature]));
    expect({ author: v.author, hlc: v.hlc, prev: v.prev, parts: v.parts }).toEqual({ author: me.nodeId, hlc: H, prev: null, parts: 1 });
  });

  it('refuses to sign, and refuses, a prev not below the stamp or parts below 1', async () => {
    const me = await createSigningIdentity([scheme]);
    await refused(signChangeSet(me, changes(me.nodeId), { prev: H, parts: 1 }), 'BAD_OP');
    await refused(signChangeSet(me, changes(me.nodeId), { prev: 1, parts: 0 }), 'BAD_OP');
    const body = await signChangeSet(me, changes(me.nodeId), { prev: 1, parts: 1 });
    for (const edit of [(f: unknown[]) => { f[5] = H; }, (f: unknown[]) => { f[6] = 0; }, (f: unknown[]) => { f[5] = -1; }, (f: unknown[]) => { f[6] = 1.5; }]) {
      await refused(verifyChangeSet(repack(body, edit)));
    }
  });

  it('signs only the signer\'s own changes of one stamp', async () => {
    const me = await createSigningIdentity([scheme]);
    await refused(signChangeSet(me, changes('a1a1a1a1a1a1a1a1')), 'BAD_OP');
    await refused(signChangeSet(me, { ...changes(me.nodeId), nodes: [me.nodeId, 'a1a1a1a1a1a1a1a1'] }), 'BAD_OP');
    const two = changes(me.nodeId);
    two.tables[0]!.rows[0]!.cells[1]![2] = H + 1;
    await refused(signChangeSet(me, two), 'BAD_OP');
  });

  it('refuses a set that mixes two nodes, even signed by the first', async () => {
    const me = await createSigningIdentity([scheme]);
    const body = await signChangeSet(me, changes(me.nodeId));
    const mixed = repack(body, (f) => {
      const cs = changes(me.nodeId);
      cs.nodes.push('a1a1a1a1a1a1a1a1');
      cs.tables[0]!.rows[0]!.cells[1]![3] = 1;
      f[5] = toWire(cs);
    });
    await refused(verifyChangeSet(mixed));
  });

  it('survives export and import (what storage keeps)', async () => {
    const me = await createSigningIdentity([scheme]);
    const again = await importSigningIdentity(await exportSigningIdentity(me));
    expect(again.nodeId).toBe(me.nodeId);
    expect((await verifyChangeSet(await signChangeSet(again, changes(me.nodeId)))).author).toBe(me.nodeId);
  });
});

describe('signature schemes', () => {
  it('falls back to the next scheme when one is not available', async () => {
    const me = await createSigningIdentity(['no-such-scheme' as SignatureScheme, 'ECDSA-P256']);
    expect(me.scheme).toBe('ECDSA-P256');
  });

  it('refuses an unknown scheme or a key of another scheme', async () => {
    const ed = await createSigningIdentity(['Ed25519']);
    const body = await signChangeSet(ed, changes(ed.nodeId));
    await refused(verifyChangeSet(repack(body, (f) => { f[1] = 'RSA'; })));
    await refused(verifyChangeSet(repack(body, (f) => { f[1] = 'ECDSA-P256'; })));
  });

  it('refuses a damaged stored identity', async () => {
    await refused(importSigningIdentity({ scheme: 'Ed25519', publicKey: 'x' }), 'WORKER');
  });
});
