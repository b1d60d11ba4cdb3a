import { describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import {
  createSigningIdentity,
  exportSigningIdentity,
  importSigningIdentity,
  nodeIdOfPublicKey,
  signChangeSet,
  verifyChangeSet,
  type SignatureScheme,
  type SignedChangeSet,
} from '../../../../shared-worker/sync/change-set-signature.js';

const changes = (node: string, value = 'x'): ChangeSet => ({
  nodes: [node],
  tables: [{ table: 't', columns: ['v', 'w'], rows: [{ pk: ['k', -0], put: [2 ** 50, 0], del: null, cells: [[0, value, 2 ** 50, 0], [1, new Uint8Array([1, 2]), 2 ** 50 + 1, 0]] }] }],
});
const refusedAuth = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'AUTH' });

describe.each(['Ed25519', 'ECDSA-P256'] as SignatureScheme[])('signed change sets (%s)', (scheme) => {
  it('binds the node id to the public key and verifies an intact set to its author', async () => {
    const me = await createSigningIdentity([scheme]);
    expect(me.scheme).toBe(scheme);
    expect(me.nodeId).toMatch(/^[0-9a-f]{16}$/);
    expect(me.nodeId).toBe(await nodeIdOfPublicKey(me.publicKey));
    expect(await verifyChangeSet(await signChangeSet(me, changes(me.nodeId)))).toBe(me.nodeId);
  });

  it('refuses a set whose value, stamp, key or claimed author was changed after signing', async () => {
    const me = await createSigningIdentity([scheme]);
    const other = await createSigningIdentity([scheme]);
    const signed = await signChangeSet(me, changes(me.nodeId));
    const row = signed.changes.tables[0]!.rows[0]!;
    const tampered: SignedChangeSet[] = [
      { ...signed, changes: changes(me.nodeId, 'y') },
      { ...signed, changes: { ...signed.changes, tables: [{ ...signed.changes.tables[0]!, rows: [{ ...row, put: [2 ** 50 + 1, 0] }] }] } },
      { ...signed, changes: { ...signed.changes, tables: [{ ...signed.changes.tables[0]!, rows: [{ ...row, pk: ['k', 0] }] }] } }, // -0 is not 0
      // Another member's key with the original author's id: the key names another node.
      { ...signed, publicKey: other.publicKey },
      // Another member re-labels the set as its own: the signature is not its.
      { ...signed, publicKey: other.publicKey, changes: { ...signed.changes, nodes: [other.nodeId] } },
    ];
    for (const t of tampered) await refusedAuth(verifyChangeSet(t));
  });

  it('signs only the signer\'s own changes: one node, its own', async () => {
    const me = await createSigningIdentity([scheme]);
    await expect(signChangeSet(me, changes('a1a1a1a1a1a1a1a1'))).rejects.toMatchObject({ code: 'BAD_OP' });
    await expect(signChangeSet(me, { ...changes(me.nodeId), nodes: [me.nodeId, 'a1a1a1a1a1a1a1a1'] })).rejects.toMatchObject({ code: 'BAD_OP' });
  });

  it('survives export and import (what storage keeps)', async () => {
    const me = await createSigningIdentity([scheme]);
    const again = await importSigningIdentity(await exportSigningIdentity(me));
    expect(again.nodeId).toBe(me.nodeId);
    expect(await verifyChangeSet(await signChangeSet(again, changes(me.nodeId)))).toBe(me.nodeId);
  });
});

describe('signature schemes', () => {
  it('falls back to the next scheme when one is not available', async () => {
    const me = await createSigningIdentity(['no-such-scheme' as SignatureScheme, 'ECDSA-P256']);
    expect(me.scheme).toBe('ECDSA-P256');
  });

  it('refuses an unknown scheme or a key of another scheme', async () => {
    const ed = await createSigningIdentity(['Ed25519']);
    const signed = await signChangeSet(ed, changes(ed.nodeId));
    await refusedAuth(verifyChangeSet({ ...signed, scheme: 'RSA' as SignatureScheme }));
    await refusedAuth(verifyChangeSet({ ...signed, scheme: 'ECDSA-P256' }));
  });
});
