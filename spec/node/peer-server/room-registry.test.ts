import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoomRegistry } from '../../../peer-server/room-registry.js';

// Fixed seed, overridable to replay a failure: FC_SEED=<n> npx vitest run --project node spec/node/peer-server
const SEED = Number(process.env.FC_SEED ?? 20261123);

const ROOMS = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)];
const NODES = ['0'.repeat(16), '1'.repeat(16), '2'.repeat(16)];
const ids = ROOMS.flatMap((r) => NODES.map((n) => `${r}-${n}`));

type Op = { kind: 'add' | 'remove'; id: string; owner: number };
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('add' as const, 'remove' as const),
  id: fc.constantFrom(...ids, 'not-a-peer-id'),
  owner: fc.integer({ min: 0, max: 2 }),
});

describe('RoomRegistry', () => {
  it(`matches a plain map of id -> owner under any add/remove sequence (seed ${SEED})`, () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const registry = new RoomRegistry<number>();
        const model = new Map<string, number>();
        for (const { kind, id, owner } of ops) {
          const valid = id !== 'not-a-peer-id';
          if (kind === 'add') {
            registry.add(id, owner);
            if (valid) model.set(id, owner);
          } else {
            const expected = valid && model.get(id) === owner;
            expect(registry.remove(id, owner)).toBe(expected);
            if (expected) model.delete(id);
          }
        }
        expect(registry.peers).toBe(model.size);
        expect(registry.roomCount).toBe(new Set([...model.keys()].map((id) => id.slice(0, 32))).size);
        for (const room of ROOMS) {
          const expected = [...model.keys()].filter((id) => id.startsWith(`${room}-`)).sort();
          expect(registry.members(room)).toEqual(expected);
          expect(registry.roomSize(room)).toBe(expected.length);
        }
        for (const id of ids) expect(registry.has(id)).toBe(model.has(id));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('a stale owner`s remove does not evict the id`s new owner', () => {
    const registry = new RoomRegistry<object>();
    const [first, second] = [{}, {}];
    registry.add(ids[0]!, first);
    registry.add(ids[0]!, second);
    expect(registry.remove(ids[0]!, first)).toBe(false);
    expect(registry.members(ROOMS[0]!)).toEqual([ids[0]]);
    expect(registry.remove(ids[0]!, second)).toBe(true);
    expect(registry.roomCount).toBe(0);
  });

  it('lists nothing for a prefix or a differently-cased room id', () => {
    const registry = new RoomRegistry<number>();
    registry.add(ids[0]!, 1);
    expect(registry.members(ROOMS[0]!.slice(0, 31))).toEqual([]);
    expect(registry.members(ROOMS[0]!.toUpperCase())).toEqual([]);
    expect(registry.members(ROOMS[0]!)).toEqual([ids[0]]);
  });
});
