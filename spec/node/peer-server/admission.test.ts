import { describe, expect, it } from 'vitest';
import { AddressCounter, normalizeAddress } from '../../../peer-server/address-counter.js';
import { admitConnection, screenMessage } from '../../../peer-server/admission.js';
import { redactPeerId } from '../../../peer-server/log.js';
import { RoomRegistry } from '../../../peer-server/room-registry.js';
import { parseClientMessage } from '../../../peer-server/signaling-protocol.js';

const room = '0123456789abcdef0123456789abcdef';
const other = 'fedcba9876543210fedcba9876543210';
const id = (r: string, n: string): string => `${r}-${n}`;
const url = (peerId: string): string => `/peerjs?key=peerjs&id=${encodeURIComponent(peerId)}&token=t`;
const limits = { maxPeersPerRoom: 2, maxConnectionsPerAddress: 2 };

describe('admitConnection', () => {
  it('admits a well-formed id and reports its room', () => {
    const decision = admitConnection(url(id(room, 'aaaaaaaaaaaaaaaa')), '10.0.0.1', new RoomRegistry(), new AddressCounter(), limits);
    expect(decision).toEqual({ ok: true, peerId: id(room, 'aaaaaaaaaaaaaaaa'), roomId: room });
  });

  it('checks the id first, then the address, then the room', () => {
    const registry = new RoomRegistry<number>();
    registry.add(id(room, 'aaaaaaaaaaaaaaaa'), 1);
    registry.add(id(room, 'bbbbbbbbbbbbbbbb'), 2);
    const addresses = new AddressCounter();
    addresses.increment('10.0.0.1');
    addresses.increment('10.0.0.1');
    const reason = (peerId: string, address: string): string => {
      const d = admitConnection(url(peerId), address, registry, addresses, limits);
      return d.ok ? 'ok' : d.reason;
    };
    expect(reason('nope', '10.0.0.1')).toBe('bad-id');
    expect(reason(id(other, 'cccccccccccccccc'), '10.0.0.1')).toBe('address-limit');
    expect(reason(id(room, 'cccccccccccccccc'), '10.0.0.2')).toBe('room-full');
    expect(reason(id(other, 'cccccccccccccccc'), '10.0.0.2')).toBe('ok');
    // A known id (reconnect or clash) is left to `peer`, not counted as a newcomer.
    expect(reason(id(room, 'aaaaaaaaaaaaaaaa'), '10.0.0.2')).toBe('ok');
  });

  it('reads the id from the query, not from anywhere else in the URL', () => {
    const sneaky = `/peerjs/${id(room, 'aaaaaaaaaaaaaaaa')}?key=peerjs&token=t`;
    const d = admitConnection(sneaky, '10.0.0.1', new RoomRegistry(), new AddressCounter(), limits);
    expect(d.ok).toBe(false);
  });
});

describe('screenMessage', () => {
  const parse = (v: unknown): ReturnType<typeof parseClientMessage> => parseClientMessage(Buffer.from(JSON.stringify(v)), false);

  it('passes heartbeats and in-room relays', () => {
    expect(screenMessage(parse({ type: 'HEARTBEAT' }), room)).toBeNull();
    for (const type of ['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']) {
      expect(screenMessage(parse({ type, dst: id(room, 'aaaaaaaaaaaaaaaa'), payload: {} }), room), type).toBeNull();
    }
  });

  it('refuses relays to another room or to a malformed id', () => {
    for (const dst of [id(other, 'aaaaaaaaaaaaaaaa'), 'someone', room, `${id(room, 'aaaaaaaaaaaaaaaa')}x`]) {
      expect(screenMessage(parse({ type: 'OFFER', dst }), room)?.reason, dst).toBe('off-room');
    }
  });

  it('refuses anything that is not a known message', () => {
    for (const v of [null, 1, 'HEARTBEAT', [], {}, { type: 'OFFER' }, { type: 'OFFER', dst: 7 }, { type: 'EXPIRE', dst: id(room, 'aaaaaaaaaaaaaaaa') }, { type: 'heartbeat' }]) {
      expect(screenMessage(parse(v), room)?.reason, JSON.stringify(v)).toBe('off-protocol');
    }
    expect(screenMessage(parseClientMessage(Buffer.from('{'), false), room)?.reason).toBe('off-protocol');
    expect(parseClientMessage(Buffer.from('{"type":"HEARTBEAT"}'), true)).toBeNull();
  });

  it('accepts the data shapes ws delivers', () => {
    const text = '{"type":"HEARTBEAT"}';
    const buf = Buffer.from(text);
    expect(parseClientMessage(text, false)).toEqual({ type: 'HEARTBEAT' });
    expect(parseClientMessage(buf, false)).toEqual({ type: 'HEARTBEAT' });
    expect(parseClientMessage(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length), false)).toEqual({ type: 'HEARTBEAT' });
    expect(parseClientMessage([buf.subarray(0, 5), buf.subarray(5)], false)).toEqual({ type: 'HEARTBEAT' });
  });
});

describe('addresses and log redaction', () => {
  it('treats an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(normalizeAddress(undefined)).toBe('unknown');
  });

  it('counts up and down to zero', () => {
    const c = new AddressCounter();
    c.increment('a');
    c.increment('a');
    c.increment('b');
    expect([c.count('a'), c.total]).toEqual([2, 3]);
    c.decrement('a');
    c.decrement('a');
    expect([c.count('a'), c.total]).toEqual([0, 1]);
  });

  it('logs only the first 8 hex digits of a room id', () => {
    expect(redactPeerId(id(room, 'aaaaaaaaaaaaaaaa'))).toBe('01234567…-aaaaaaaaaaaaaaaa');
    expect(redactPeerId('whatever')).toBe('(invalid id)');
  });
});
