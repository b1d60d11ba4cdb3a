import { describe, expect, it } from 'vitest';
import { LIMITS, parseTabMessage } from '../../../../shared-worker/hub/tab-message-guard.js';
import { PROTOCOL_VERSION } from '../../../../shared-worker/protocol/worker-protocol.js';

const hello = { kind: 'hello', v: PROTOCOL_VERSION, tabId: 't', dbName: 'd', wasmUrl: 'http://127.0.0.1/x.wasm', durability: 'strict' };

describe('parseTabMessage (the worker boundary)', () => {
  it('accepts every well-formed message kind', () => {
    const ok = [
      hello,
      { ...hello, maxClockDriftMs: 24 * 3_600_000 },
      { kind: 'request', id: 1, req: { op: 'exec', sql: 'SELECT ?', params: [1, 'a', null, new Uint8Array([1])] } },
      { kind: 'request', id: 2, req: { op: 'execLocal', sql: 'SELECT :a', params: { ':a': 1 } } },
      { kind: 'request', id: 3, req: { op: 'enableSync', table: 'notes' } },
      { kind: 'request', id: 4, req: { op: 'watch', watchId: 'w', sql: 'SELECT 1' } },
      { kind: 'request', id: 5, req: { op: 'unwatch', watchId: 'w' } },
      { kind: 'request', id: 6, req: { op: 'connect', signalingUrl: 'ws://127.0.0.1:9/p', token: 't', iceServers: [{ urls: ['placeholder.invalid'] }] } },
      { kind: 'request', id: 7, req: { op: 'disconnect' } },
      { kind: 'request', id: 8, req: { op: 'claimLeader' } },
      { kind: 'bye' },
      { kind: 'link-open', epoch: 1, linkId: 'l', remotePeerId: 'p', initiator: true },
      { kind: 'link-frame', epoch: 1, linkId: 'l', bytes: new Uint8Array(3) },
      { kind: 'link-drain', epoch: 1, linkId: 'l', consumed: 10, bufferedAmount: 0 },
      { kind: 'link-closed', epoch: 1, linkId: 'l', reason: 'bye' },
      { kind: 'mesh-status', epoch: 1, status: { signaling: 'reconnecting', attempt: 2 } },
    ];
    for (const m of ok) expect(() => parseTabMessage(m), JSON.stringify(m)).not.toThrow();
  });

  it('drops fields it does not know instead of passing them on', () => {
    const parsed = parseTabMessage({ kind: 'request', id: 1, req: { op: 'disconnect', evil: 'x' }, extra: 1 });
    expect(parsed).toEqual({ kind: 'request', id: 1, req: { op: 'disconnect' } });
  });

  it.each([
    ['not an object', 'hello'],
    ['null', null],
    ['unknown kind', { kind: 'format-disk' }],
    ['request id not an integer', { kind: 'request', id: 1.5, req: { op: 'disconnect' } }],
    ['negative request id', { kind: 'request', id: -1, req: { op: 'disconnect' } }],
    ['unknown op', { kind: 'request', id: 1, req: { op: 'eval' } }],
    ['sql not a string', { kind: 'request', id: 1, req: { op: 'exec', sql: 42 } }],
    ['table not a string', { kind: 'request', id: 1, req: { op: 'enableSync', table: ['t'] } }],
    ['ice server without urls', { kind: 'request', id: 1, req: { op: 'connect', iceServers: [{}] } }],
    ['oversized tab id', { ...hello, tabId: 'x'.repeat(LIMITS.idChars + 1) }],
    ['bad clock drift', { ...hello, maxClockDriftMs: -5 }],
    ['infinite clock drift', { ...hello, maxClockDriftMs: Infinity }],
    ['NaN clock drift', { ...hello, maxClockDriftMs: Number.NaN }],
    ['clock drift over 24 h', { ...hello, maxClockDriftMs: 24 * 3_600_000 + 1 }],
    ['epoch missing', { kind: 'link-open', linkId: 'l', remotePeerId: 'p', initiator: true }],
    ['initiator not boolean', { kind: 'link-open', epoch: 1, linkId: 'l', remotePeerId: 'p', initiator: 'yes' }],
    ['frame not bytes', { kind: 'link-frame', epoch: 1, linkId: 'l', bytes: [1, 2] }],
    ['frame too large', { kind: 'link-frame', epoch: 1, linkId: 'l', bytes: new Uint8Array(LIMITS.frameBytes + 1) }],
    ['unknown signaling state', { kind: 'mesh-status', epoch: 1, status: { signaling: 'melting' } }],
  ])('refuses %s with BAD_OP', (_what, message) => {
    expect(() => parseTabMessage(message)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
  });

  it('refuses parameter values SQLite cannot bind with SQL, like the replica', () => {
    for (const params of [[{ nested: 1 }], [[1]], 'text', [undefined]]) {
      expect(() => parseTabMessage({ kind: 'request', id: 1, req: { op: 'exec', sql: 'SELECT ?', params } }))
        .toThrow(expect.objectContaining({ code: 'SQL' }));
    }
  });
});
