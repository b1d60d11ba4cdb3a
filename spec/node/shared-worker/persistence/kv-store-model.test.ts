/**
 * Differential test: random write sequences applied to both stores and to a plain Map model must
 * read back identically (values, prefix listings in order).
 */
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdbKeyValueStore } from '../../../../shared-worker/persistence/idb-kv-store.js';
import type { KeyValueWrite } from '../../../../shared-worker/persistence/kv-store.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';

const SEED = 99;
const key = fc.constantFrom('log:1', 'log:2', 'log:10', 'log:\uffffx', 'peer:a', 'peer:b', 'meta', 'snap', 'lo', 'log;');
const value = fc.oneof(fc.integer(), fc.string(), fc.uint8Array({ maxLength: 8 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }));
const write: fc.Arbitrary<KeyValueWrite> = fc.record({
  set: fc.array(fc.tuple(key, value), { maxLength: 4 }),
  del: fc.array(key, { maxLength: 3 }),
});

let db = 0;

describe('stores agree with a Map model', () => {
  it('on random write sequences', async () => {
    await fc.assert(fc.asyncProperty(fc.array(write, { maxLength: 12 }), async (writes) => {
      const model = new Map<string, unknown>();
      const stores = [new MemoryKeyValueStore(), new IdbKeyValueStore(`model-${++db}`)];
      for (const w of writes) {
        // Within one write: deletes first, then puts (the documented order of both stores).
        for (const k of w.del ?? []) model.delete(k);
        for (const [k, v] of w.set ?? []) model.set(k, v);
        for (const s of stores) await s.write(w);
      }
      const allKeys = [...model.keys()].sort();
      for (const s of stores) {
        for (const prefix of ['', 'log:', 'peer:', 'lo', 'x']) {
          expect(await s.keys(prefix)).toEqual(allKeys.filter((k) => k.startsWith(prefix)));
        }
        expect(await s.getMany(allKeys)).toEqual(allKeys.map((k) => model.get(k)));
        await s.close();
      }
    }), { seed: SEED, numRuns: 60 });
  });
});
