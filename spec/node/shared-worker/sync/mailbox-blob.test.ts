import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import type { ChangeSet } from '../../../../shared-worker/replica/contracts/change-set.js';
import { deriveMailboxKeys } from '../../../../shared-worker/sync/mailbox-keys.js';
import { openBlob, sealBlob, sealPlain } from '../../../../shared-worker/sync/mailbox-blob.js';
import { deriveRoomKeys, toHex } from '../../../../shared-worker/sync/room-keys.js';

const NODE = 'a1b2c3d4e5f60718';
const changes: ChangeSet = {
  nodes: [NODE],
  tables: [
    {
      table: 'secret_notes',
      columns: ['id', 'body', 'blob'],
      rows: [{ pk: ['n1'], put: [1_700_000_000_000 * 1024, 0], del: null, cells: [[1, 'plaintext body', 1_700_000_000_000 * 1024, 0], [2, new Uint8Array([1, 2]), 1_700_000_000_000 * 1024 + 3, 0]] }],
    },
  ],
};

const contains = (hay: Uint8Array, needle: string) => Buffer.from(hay).includes(Buffer.from(needle));

describe('mailbox keys and sealed blobs', () => {
  it('derive a mailbox id unrelated to the room id; one token, one mailbox', async () => {
    const [a, again, other, room] = await Promise.all([deriveMailboxKeys('token-A'), deriveMailboxKeys('token-A'), deriveMailboxKeys('token-B'), deriveRoomKeys('token-A')]);
    expect(a.mailboxIdHex).toBe(again.mailboxIdHex);
    expect(a.mailboxIdHex).not.toBe(other.mailboxIdHex);
    expect(a.mailboxIdHex).toMatch(/^[0-9a-f]{64}$/);
    expect(a.mailboxIdHex).not.toContain(room.roomId);
    expect(toHex(a.accessKey)).not.toContain(room.roomId);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(a.accessKey)));
    expect(toHex(digest)).toBe(a.mailboxIdHex);
  });

  it('round-trips a change set, and the sealed bytes hold no plaintext, table name or node id', async () => {
    const keys = await deriveMailboxKeys('token-A');
    const sealed = await sealBlob(keys, { kind: 'changes', changes, signed: [], upTo: { [NODE]: 5 } }, 7);
    expect(contains(sealed, 'plaintext body') || contains(sealed, 'secret_notes') || contains(sealed, NODE)).toBe(false);
    expect(await openBlob(keys, 'changes', sealed, 7)).toEqual({ kind: 'changes', changes, signed: [], upTo: { [NODE]: 5 } });
    // A fresh nonce each time: sealing the same content twice gives different bytes.
    const again = await sealBlob(keys, { kind: 'changes', changes, signed: [], upTo: { [NODE]: 5 } }, 7);
    expect(Buffer.from(again.subarray(0, 12)).equals(Buffer.from(sealed.subarray(0, 12)))).toBe(false);
  });

  it('refuses (AUTH) another room key, a moved position, a swapped kind and any flipped bit', async () => {
    const keys = await deriveMailboxKeys('token-A');
    const sealed = await sealBlob(keys, { kind: 'changes', changes, signed: [], upTo: { [NODE]: 5 } }, 7);
    await expect(openBlob(await deriveMailboxKeys('token-B'), 'changes', sealed, 7)).rejects.toMatchObject({ code: 'AUTH' });
    await expect(openBlob(keys, 'changes', sealed, 8)).rejects.toMatchObject({ code: 'AUTH' });
    await expect(openBlob(keys, 'snapshot', sealed, 7)).rejects.toMatchObject({ code: 'AUTH' });
    for (const i of [0, 11, 12, sealed.length - 1]) {
      const bent = sealed.slice();
      bent[i]! ^= 1;
      await expect(openBlob(keys, 'changes', bent, 7)).rejects.toMatchObject({ code: 'AUTH' });
    }
    await expect(openBlob(keys, 'changes', new Uint8Array(20), 7)).rejects.toMatchObject({ code: 'AUTH' });
  });

  it('validates what opens like peer input (BAD_OP): a member cannot smuggle malformed changes', async () => {
    const keys = await deriveMailboxKeys('token-A');
    const bad = [
      encode({ v: 1, kind: 'changes', changes: [[NODE], 0, [['t', ['a'], [[[{}], [0, 0], null, []]]]]], upTo: null }),
      encode({ v: 4, kind: 'changes', changes: [[], 0, []], signed: [], upTo: null }),
      encode({ v: 2, kind: 'changes', changes: [[], 0, []], upTo: null }), // no signed list
      encode({ v: 2, kind: 'changes', changes: [[], 0, []], signed: ['x'], upTo: null }),
      encode({ v: 1, kind: 'changes', changes: [['not-a-node-id'], 0, []], upTo: null }),
      encode({ v: 1, kind: 'snapshot', changes: [[], 0, []], vector: { x: -1 } }),
      new Uint8Array([0xc1]),
    ];
    const kinds = ['changes', 'changes', 'changes', 'changes', 'changes', 'snapshot', 'changes'] as const;
    for (let i = 0; i < bad.length; i += 1) {
      const sealed = await sealPlain(keys, kinds[i]!, new Uint8Array(bad[i]!), 1);
      await expect(openBlob(keys, kinds[i]!, sealed, 1)).rejects.toMatchObject({ code: 'BAD_OP' });
    }
  });
});
