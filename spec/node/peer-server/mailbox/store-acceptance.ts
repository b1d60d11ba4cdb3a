/**
 * One acceptance suite for every MailboxStore: memory, SQLite and PostgreSQL each call
 * `mailboxStoreAcceptance` with a factory. `reopen` (stores that persist) opens a second store
 * on the same data after the first is closed, as a restarted server would.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMailboxStore } from '../../../../peer-server/mailbox/memory-mailbox-store.js';
import type { MailboxStore } from '../../../../peer-server/mailbox/mailbox-store.js';

export interface StoreFactory {
  open(): Promise<MailboxStore>;
  /** Opens the same data again (after the previous store was closed). */
  reopen?(): Promise<MailboxStore>;
  /** Distinct stores of one database (several server instances); they must see each other's appends. */
  openSibling?(): Promise<MailboxStore>;
}

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const QUOTA = 10_000;

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

export function mailboxStoreAcceptance(name: string, factory: StoreFactory): void {
  describe(`MailboxStore acceptance: ${name}`, () => {
    const open: MailboxStore[] = [];
    const use = async (store: Promise<MailboxStore>) => {
      const s = await store;
      open.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('an empty mailbox has head 0, no bytes, no snapshot, no blobs', async () => {
      const store = await use(factory.open());
      expect(await store.state(A)).toEqual({ head: 0, bytes: 0, snapshot: null });
      expect(await store.read(A, 0, 10)).toEqual([]);
      expect(await store.readSnapshot(A, 0, 10)).toBeNull();
    });

    it('appends only at head + 1 and reads back in order after a cursor', async () => {
      const store = await use(factory.open());
      expect(await store.append(A, 2, bytes(1), QUOTA, 1)).toEqual({ ok: false, reason: 'conflict', head: 0 });
      expect(await store.append(A, 1, bytes(1, 2), QUOTA, 1)).toEqual({ ok: true });
      expect(await store.append(A, 1, bytes(9), QUOTA, 1)).toEqual({ ok: false, reason: 'conflict', head: 1 });
      expect(await store.append(A, 2, bytes(3), QUOTA, 2)).toEqual({ ok: true });
      expect(await store.append(A, 3, bytes(4, 5, 6), QUOTA, 3)).toEqual({ ok: true });
      expect(await store.state(A)).toEqual({ head: 3, bytes: 6, snapshot: null });
      expect(await store.read(A, 0, 10)).toEqual([
        { seq: 1, blob: bytes(1, 2) },
        { seq: 2, blob: bytes(3) },
        { seq: 3, blob: bytes(4, 5, 6) },
      ]);
      expect(await store.read(A, 1, 1)).toEqual([{ seq: 2, blob: bytes(3) }]);
      expect(await store.read(A, 3, 10)).toEqual([]);
    });

    it('keeps mailboxes apart', async () => {
      const store = await use(factory.open());
      await store.append(A, 1, bytes(1), QUOTA, 1);
      await store.append(B, 1, bytes(2), QUOTA, 1);
      expect(await store.read(A, 0, 10)).toEqual([{ seq: 1, blob: bytes(1) }]);
      expect(await store.read(B, 0, 10)).toEqual([{ seq: 1, blob: bytes(2) }]);
    });

    it('refuses an append past the byte quota and stores nothing of it', async () => {
      const store = await use(factory.open());
      expect(await store.append(A, 1, new Uint8Array(60), 100, 1)).toEqual({ ok: true });
      expect(await store.append(A, 2, new Uint8Array(41), 100, 1)).toEqual({ ok: false, reason: 'quota', bytes: 60 });
      expect(await store.append(A, 2, new Uint8Array(40), 100, 1)).toEqual({ ok: true });
      expect(await store.state(A)).toEqual({ head: 2, bytes: 100, snapshot: null });
    });

    it('a snapshot replaces the blobs it covers; the tail stays; bytes are recounted', async () => {
      const store = await use(factory.open());
      for (let seq = 1; seq <= 4; seq += 1) await store.append(A, seq, new Uint8Array(10).fill(seq), QUOTA, seq);
      expect(await store.putSnapshot(A, 5, bytes(1), QUOTA, 9)).toEqual({ ok: false, reason: 'conflict', head: 4 });
      expect(await store.putSnapshot(A, 3, bytes(7, 7, 7, 7, 7), QUOTA, 9)).toEqual({ ok: true, dropped: 3 });
      expect(await store.state(A)).toEqual({ head: 4, bytes: 15, snapshot: { covers: 3, size: 5 } });
      expect(await store.read(A, 0, 10)).toEqual([{ seq: 4, blob: new Uint8Array(10).fill(4) }]);
      expect(await store.readSnapshot(A, 1, 3)).toEqual({ covers: 3, total: 5, bytes: bytes(7, 7, 7) });
      expect(await store.readSnapshot(A, 4, 10)).toEqual({ covers: 3, total: 5, bytes: bytes(7) });
      expect(await store.readSnapshot(A, 5, 10)).toEqual({ covers: 3, total: 5, bytes: bytes() });
      // Not newer than the stored snapshot: refused, nothing changes.
      expect(await store.putSnapshot(A, 3, bytes(1), QUOTA, 9)).toEqual({ ok: false, reason: 'conflict', head: 4 });
      // A newer one replaces the old snapshot and its own covered blobs.
      expect(await store.putSnapshot(A, 4, bytes(8, 8), QUOTA, 9)).toEqual({ ok: true, dropped: 1 });
      expect(await store.state(A)).toEqual({ head: 4, bytes: 2, snapshot: { covers: 4, size: 2 } });
      expect(await store.append(A, 5, bytes(1), QUOTA, 10)).toEqual({ ok: true });
    });

    it('a snapshot that would exceed the quota is refused and changes nothing', async () => {
      const store = await use(factory.open());
      await store.append(A, 1, new Uint8Array(10), 50, 1);
      await store.append(A, 2, new Uint8Array(10), 50, 1);
      expect(await store.putSnapshot(A, 1, new Uint8Array(51), 50, 2)).toEqual({ ok: false, reason: 'quota', bytes: 20 });
      expect(await store.state(A)).toEqual({ head: 2, bytes: 20, snapshot: null });
      expect((await store.read(A, 0, 10)).map((b) => b.seq)).toEqual([1, 2]);
    });

    it('expires mailboxes idle since before the cutoff; touch keeps one alive', async () => {
      const store = await use(factory.open());
      await store.append(A, 1, bytes(1), QUOTA, 100);
      await store.append(B, 1, bytes(2), QUOTA, 100);
      await store.touch(B, 500);
      expect(await store.expireIdle(300)).toBe(1);
      expect(await store.state(A)).toEqual({ head: 0, bytes: 0, snapshot: null });
      expect(await store.read(A, 0, 10)).toEqual([]);
      expect((await store.state(B)).head).toBe(1);
    });

    it('tells listeners about each committed append, and not about refused ones', async () => {
      const store = await use(factory.open());
      const heard: string[] = [];
      let resolveHeard: () => void = () => {};
      const two = new Promise<void>((r) => (resolveHeard = r));
      store.onAppend((mailbox, seq) => {
        heard.push(`${mailbox.slice(0, 1)}:${seq}`);
        if (heard.length === 2) resolveHeard();
      });
      await store.append(A, 1, bytes(1), QUOTA, 1);
      await store.append(A, 5, bytes(1), QUOTA, 1);
      await store.append(B, 1, bytes(1), QUOTA, 1);
      await two;
      expect(heard.sort()).toEqual(['a:1', 'b:1']);
    });

    it('concurrent appends at one position: exactly one wins', async () => {
      const store = await use(factory.open());
      const outcomes = await Promise.all([1, 2, 3, 4].map((n) => store.append(A, 1, bytes(n), QUOTA, 1)));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(await store.read(A, 0, 10)).toHaveLength(1);
    });

    it('matches the in-memory reference on random operation sequences (fast-check, seeded)', async () => {
      const seed = Number(process.env.FC_SEED ?? 1313);
      console.log(`store acceptance property (${name}): seed ${seed}`);
      const op = fc.oneof(
        fc.record({ k: fc.constant('append' as const), box: fc.constantFrom(A, B), delta: fc.integer({ min: 0, max: 2 }), size: fc.integer({ min: 1, max: 40 }) }),
        fc.record({ k: fc.constant('snapshot' as const), box: fc.constantFrom(A, B), back: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 1, max: 60 }) }),
        fc.record({ k: fc.constant('read' as const), box: fc.constantFrom(A, B), after: fc.integer({ min: 0, max: 8 }), limit: fc.integer({ min: 1, max: 4 }) }),
      );
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
          round += 1;
          const prefix = round.toString(16).padStart(8, '0');
          const ids = { [A]: prefix + A.slice(8), [B]: prefix + B.slice(8) };
          const model = new MemoryMailboxStore();
          const store = await use(factory.open());
          for (const o of ops) {
            const id = ids[o.box]!;
            const head = (await model.state(id)).head;
            if (o.k === 'append') {
              const blob = new Uint8Array(o.size).fill(o.size);
              const seq = head + o.delta;
              if (seq < 1) continue;
              expect(await store.append(id, seq, blob, 200, 1)).toEqual(await model.append(id, seq, blob, 200, 1));
            } else if (o.k === 'snapshot') {
              const covers = head - o.back;
              if (covers < 1) continue;
              const blob = new Uint8Array(o.size).fill(7);
              expect(await store.putSnapshot(id, covers, blob, 200, 1)).toEqual(await model.putSnapshot(id, covers, blob, 200, 1));
            } else {
              expect(await store.read(id, o.after, o.limit)).toEqual(await model.read(id, o.after, o.limit));
            }
            expect(await store.state(id)).toEqual(await model.state(id));
          }
          await store.close();
          open.splice(open.indexOf(store), 1);
        }),
        { seed, numRuns: 30 },
      );
    });

    if (factory.reopen) {
      const reopen = factory.reopen.bind(factory);
      it('keeps every acknowledged blob and snapshot across a restart', async () => {
        const first = await factory.open();
        for (let seq = 1; seq <= 5; seq += 1) expect(await first.append(A, seq, bytes(seq, seq), QUOTA, seq)).toEqual({ ok: true });
        expect(await first.putSnapshot(A, 2, bytes(9, 9, 9), QUOTA, 6)).toEqual({ ok: true, dropped: 2 });
        await first.close();
        const second = await use(reopen());
        expect(await second.state(A)).toEqual({ head: 5, bytes: 9, snapshot: { covers: 2, size: 3 } });
        expect((await second.read(A, 0, 10)).map((b) => b.seq)).toEqual([3, 4, 5]);
        expect(await second.append(A, 6, bytes(6), QUOTA, 7)).toEqual({ ok: true });
      });
    }

    if (factory.openSibling) {
      const openSibling = factory.openSibling.bind(factory);
      it('a sibling instance on the same database hears appends made through the other', async () => {
        const one = await use(factory.open());
        const two = await use(openSibling());
        const heard = new Promise<[string, number]>((resolve) => two.onAppend((mailbox, seq) => resolve([mailbox, seq])));
        await one.append(A, 1, bytes(42), QUOTA, 1);
        expect(await heard).toEqual([A, 1]);
        expect(await two.read(A, 0, 10)).toEqual([{ seq: 1, blob: bytes(42) }]);
        // Concurrent appends through both instances at one position: exactly one wins.
        const outcomes = await Promise.all([one.append(A, 2, bytes(1), QUOTA, 2), two.append(A, 2, bytes(2), QUOTA, 2)]);
        expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      });
    }
  });
}
