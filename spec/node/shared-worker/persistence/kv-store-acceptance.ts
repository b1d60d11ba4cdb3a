/**
 * The behaviour every KeyValueStore must have, written once and run over each implementation
 * (as automerge-repo does for its storage adapters).
 */
import { describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../../../../shared-worker/persistence/kv-store.js';

export interface StoreUnderTest {
  name: string;
  /** A fresh, empty store. */
  open(): KeyValueStore;
  /** A second handle on the data of `store` (a restarted worker). */
  reopen(store: KeyValueStore): KeyValueStore;
  /** A fresh store whose disk is full: any write that stores something is refused. */
  openFull(): KeyValueStore;
}

export function runStoreAcceptance(impl: StoreUnderTest): void {
  describe(`KeyValueStore acceptance: ${impl.name}`, () => {
    it('reads back what was written, as a copy, and survives a reopen', async () => {
      const store = impl.open();
      const bytes = new Uint8Array([0, 1, 255]);
      await store.write({ set: [['a', { x: 1, y: [null, 'z'] }], ['b', bytes]] });
      bytes[0] = 9; // the stored value must not alias the caller's buffer
      expect(await store.get('a')).toEqual({ x: 1, y: [null, 'z'] });
      expect(await store.get('b')).toEqual(new Uint8Array([0, 1, 255]));
      expect(await store.get('missing')).toBeUndefined();
      expect(await store.getMany(['b', 'missing', 'a'])).toEqual([new Uint8Array([0, 1, 255]), undefined, { x: 1, y: [null, 'z'] }]);
      await store.close();
      const again = impl.reopen(store);
      expect(await again.get('a')).toEqual({ x: 1, y: [null, 'z'] });
      await again.close();
    });

    it('applies the deletes and puts of one write together', async () => {
      const store = impl.open();
      await store.write({ set: [['k1', 1], ['k2', 2], ['k3', 3]] });
      await store.write({ del: ['k1', 'k2', 'never-there'], set: [['k2', 22], ['k4', 4]] });
      expect(await store.getMany(['k1', 'k2', 'k3', 'k4'])).toEqual([undefined, 22, 3, 4]);
      await store.close();
    });

    it('is all or nothing: a write that fails part-way leaves no trace', async () => {
      const store = impl.open();
      await store.write({ set: [['keep', 1]] });
      const bad = store.write({ del: ['keep'], set: [['p1', 1], ['p2', () => 0], ['p3', 3]] });
      await expect(bad).rejects.toMatchObject({ name: 'BatteryError' });
      expect(await store.keys()).toEqual(['keep']);
      await store.close();
    });

    it('lists keys by prefix in ascending code-unit order', async () => {
      const store = impl.open();
      const keys = ['log:000000000010', 'log:000000000002', 'log:\uffff\uffffz', 'loh', 'lo', 'log;', 'peer:x', 'log:\u00e9', 'log:'];
      await store.write({ set: keys.map((k) => [k, 0] as [string, unknown]) });
      expect(await store.keys('log:')).toEqual(['log:', 'log:000000000002', 'log:000000000010', 'log:\u00e9', 'log:\uffff\uffffz']);
      expect(await store.keys('peer:')).toEqual(['peer:x']);
      expect(await store.keys('nothing')).toEqual([]);
      expect(await store.keys()).toEqual([...keys].sort());
      await store.close();
    });

    it('refuses a write with QUOTA when storage is full, and stores nothing of it', async () => {
      const store = impl.openFull();
      await expect(store.write({ set: [['a', new Uint8Array(64)]] })).rejects.toMatchObject({ code: 'QUOTA' });
      expect(await store.keys()).toEqual([]);
      await store.close();
    });

    it('rejects calls after close with CLOSED', async () => {
      const store = impl.open();
      await store.close();
      await expect(store.get('a')).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.write({ set: [['a', 1]] })).rejects.toMatchObject({ code: 'CLOSED' });
    });
  });
}
