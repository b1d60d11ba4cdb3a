import { describe, expect, it } from 'vitest';
import { MAX_LISTED, membersOf, roomDirectory, type FetchLike } from '../../../../lib/mesh/room-directory.js';

const ROOM = '0123456789abcdef0123456789abcdef';
const peer = (n: number) => `${ROOM}-${n.toString(16).padStart(16, '0')}`;

describe('room directory', () => {
  it('asks GET <base>rooms/<roomId> without caching and returns the members', async () => {
    const calls: Array<[string, unknown]> = [];
    const fetchImpl: FetchLike = async (url, init) => {
      calls.push([url, init]);
      return { ok: true, status: 200, json: async () => ({ peers: [peer(1), peer(2)] }) };
    };
    expect(await roomDirectory('http://127.0.0.1:9000/sig/', fetchImpl)(ROOM)).toEqual([peer(1), peer(2)]);
    expect(calls).toEqual([[`http://127.0.0.1:9000/sig/rooms/${ROOM}`, { cache: 'no-store' }]]);
  });

  it('drops malformed entries, other rooms and duplicates, and caps the count', () => {
    const other = `${'f'.repeat(32)}-${'1'.repeat(16)}`;
    expect(membersOf({ peers: [peer(1), 7, null, 'x', other, `${peer(2)} `, peer(1), peer(3).toUpperCase()] }, ROOM)).toEqual([peer(1)]);
    const many = Array.from({ length: MAX_LISTED + 50 }, (_, i) => peer(i));
    expect(membersOf({ peers: many }, ROOM)).toHaveLength(MAX_LISTED);
  });

  it.each([[null], [{}], [{ peers: 'x' }], [[peer(1)]]])('refuses a body that is not {peers: [...]}: %j', (body) => {
    expect(() => membersOf(body, ROOM)).toThrow(expect.objectContaining({ code: 'SIGNALING' }));
  });

  it('turns HTTP refusals, network failures and bad JSON into SIGNALING errors', async () => {
    const refused: FetchLike = async () => ({ ok: false, status: 503, json: async () => ({}) });
    const down: FetchLike = async () => {
      throw new TypeError('fetch failed');
    };
    const badJson: FetchLike = async () => ({ ok: true, status: 200, json: async () => JSON.parse('{') });
    for (const f of [refused, down, badJson]) {
      await expect(roomDirectory('http://h:1/', f)(ROOM)).rejects.toMatchObject({ code: 'SIGNALING' });
    }
  });
});
