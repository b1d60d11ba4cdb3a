/**
 * Every acknowledged state reopens, in every schema. Random schemas (random-schema.ts: key kinds,
 * defaults, CHECK, indexes, a user trigger) and random statements through the durable replica's
 * exec, interleaved with remote batches and reopen points: a clean close, a snapshot then close,
 * a crash after N storage writes, and a snapshot rewritten to capture format 1 (the migration runs
 * at open). After every reopen each table equals what was acknowledged; at the end a replica
 * built from the delta and a peer that exchanged with it equal the source.
 * Seeded: FC_SEED replays a failure (the seed and path are printed), FC_RUNS sets the case count.
 */
import fc from 'fast-check';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import type { SqlValue } from '../../../../shared-worker/replica/contracts/change-set.js';
import { openDurableReplica, type DurableReplicaHandle } from '../../../../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../../../../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';

/** Storage keys of the snapshot and its pointer (the layout snapshot-store.ts documents). */
const SNAPSHOT_KEY = 'snap';
const META_KEY = 'meta';
import { execArb, keyColumns, render, schemaArb, schemaDdl, SYNCED, type KeyKind, type RandomSchema, type Stmt } from './random-schema.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);
/** Cases per key kind (5 kinds). */
const RUNS = Number(process.env.FC_RUNS ?? 140);

type Step =
  | { k: 'exec'; stmts: Stmt[] }
  | { k: 'remote'; execs: Stmt[][] }
  | { k: 'pull' }
  | { k: 'reopen'; how: 'clean' | 'snapshot' | 'format1' }
  | { k: 'crash'; writes: number; execs: Stmt[][] };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: execArb.map((stmts) => ({ k: 'exec' as const, stmts })) },
  { weight: 2, arbitrary: fc.array(execArb, { minLength: 1, maxLength: 2 }).map((execs) => ({ k: 'remote' as const, execs })) },
  fc.constant({ k: 'pull' as const }),
  { weight: 2, arbitrary: fc.constantFrom('clean', 'snapshot', 'format1').map((how) => ({ k: 'reopen' as const, how })) },
  fc.record({ k: fc.constant('crash' as const), writes: fc.integer({ min: 0, max: 2 }), execs: fc.array(execArb, { minLength: 1, maxLength: 3 }) }),
);

const caseArb = (key: KeyKind) => fc.record({
  schema: schemaArb.map((s) => ({ ...s, key })),
  /** Log records between snapshots: 1-3 puts snapshot boundaries between the steps. */
  snapshotRecords: fc.constantFrom(1, 2, 3, 2000),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 6 }),
});

function plain(v: unknown): unknown {
  return v instanceof Uint8Array ? { blob: [...v] } : Object.is(v, -0) ? '-0' : v;
}

type Reader = { exec(sql: string): Promise<{ rows: Record<string, SqlValue>[] }> | { rows: Record<string, SqlValue>[] } };

/** The synced tables by key (a non-alias rowid is not data: replay may place a row elsewhere), plus audit by rowid. */
async function dump(r: Reader, s: RandomSchema, withAudit = true): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const t of SYNCED) out[t] = (await r.exec(`SELECT * FROM ${t} ORDER BY ${keyColumns(s).join(', ')}`)).rows;
  if (withAudit && s.trigger) out.audit = (await r.exec('SELECT n, what FROM audit ORDER BY n')).rows;
  return JSON.stringify(out, (_k, v: unknown) => plain(v));
}

const macrotask = () => new Promise((r) => setTimeout(r, 0));

/** Turns a snapshot into what capture format 1 wrote: an insert trigger per synced table, format = 1. */
async function asFormat1(bytes: Uint8Array): Promise<Uint8Array> {
  const db = new (await initSqlJs()).Database(bytes);
  try {
    for (const [name, tid, shape] of db.exec('SELECT name, tid, shape FROM _rb_tables')[0]?.values ?? []) {
      const n = (JSON.parse(String(shape)) as { cols: unknown[] }).cols.length;
      const s = Array.from({ length: n }, (_, i) => `s${i}`);
      db.run(`CREATE TRIGGER _rb_c${tid}_ins AFTER INSERT ON "${String(name)}" WHEN (SELECT mode FROM _rb_ctx) <> 0 BEGIN
        INSERT INTO _rb_c${tid}(rid, ver, put, del${s.map((c) => `, ${c}`).join('')}) SELECT NEW.rowid, v, v, NULL${s.map(() => ', v').join('')} FROM _rb_ctx; END`);
    }
    db.run("UPDATE _rb_meta SET v = 1 WHERE k = 'format'");
    return db.export();
  } finally {
    db.close();
  }
}

interface Template { data: Map<string, unknown>; remote: Uint8Array }
const templates = new Map<string, Promise<Template>>();

function templateOf(s: RandomSchema): Promise<Template> {
  const id = JSON.stringify(s);
  let t = templates.get(id);
  if (!t) {
    t = (async () => {
      const data = new Map<string, unknown>();
      const d = await openDurableReplica({ store: new MemoryKeyValueStore({ data }), createReplica, warn: () => {} });
      await d.exec(schemaDdl(s));
      for (const table of SYNCED) await d.enableSync(table);
      await d.close();
      const remote = await createReplica();
      remote.exec(schemaDdl(s));
      for (const table of SYNCED) remote.enableSync(table);
      const bytes = remote.export();
      remote.close();
      return { data, remote: bytes };
    })();
    templates.set(id, t);
  }
  return t;
}

class Case {
  d!: DurableReplicaHandle;
  store!: MemoryKeyValueStore;
  remote!: Replica;
  readonly data = new Map<string, unknown>();
  /** What the last acknowledged write left (read back through the durable replica). */
  acked = '';
  readonly log: string[] = [];

  constructor(private readonly s: RandomSchema, private readonly snapshotRecords: number) {}

  open(data = this.data): Promise<DurableReplicaHandle> {
    this.store = new MemoryKeyValueStore({ data });
    return openDurableReplica({ store: this.store, createReplica, snapshotEvery: { records: this.snapshotRecords }, warn: () => {} });
  }

  /** From the schema's template (storage after DDL + enableSync, and a peer's file): a case starts in a few ms. */
  async start(): Promise<void> {
    const template = await templateOf(this.s);
    for (const [k, v] of template.data) this.data.set(k, structuredClone(v));
    this.d = await this.open();
    this.remote = await createReplica({ data: template.remote });
    this.acked = await dump(this.d, this.s);
  }

  async exec(stmts: Stmt[]): Promise<void> {
    const { sql, params } = render(this.s, stmts);
    try {
      await this.d.exec(sql, params);
      this.log.push(`ok   ${sql} ${JSON.stringify(params)}`);
    } catch (e) {
      // A statement SQLite refuses (UNIQUE, CHECK) must change nothing: checked below.
      this.log.push(`fail ${sql} ${JSON.stringify(params)}: ${(e as Error).message}`);
      if (!/constraint failed/.test((e as Error).message)) throw e;
    }
    this.acked = await dump(this.d, this.s);
  }

  async step(st: Step): Promise<void> {
    switch (st.k) {
      case 'exec': return this.exec(st.stmts);
      case 'remote': {
        for (const stmts of st.execs) {
          const { sql, params } = render(this.s, stmts);
          try { this.remote.exec(sql, params); } catch { /* refused by a constraint: nothing to send */ }
        }
        this.log.push('remote batch');
        await this.d.applyChanges(this.remote.changesSince(this.d.getVector()));
        this.acked = await dump(this.d, this.s);
        return;
      }
      case 'pull':
        this.log.push('pull');
        this.remote.applyChanges(this.d.changesSince(this.remote.getVector()));
        return;
      case 'reopen': {
        this.log.push(`reopen ${st.how}`);
        if (st.how !== 'clean') await this.d.snapshot();
        await this.d.close();
        if (st.how === 'format1') {
          const snap = await asFormat1(this.data.get(SNAPSHOT_KEY) as Uint8Array);
          this.data.set(SNAPSHOT_KEY, snap);
          const meta = this.data.get(META_KEY) as { snapshotBytes: number };
          this.data.set(META_KEY, { ...meta, snapshotBytes: snap.byteLength });
        }
        this.d = await this.open();
        expect(await dump(this.d, this.s), this.log.join('\n')).toBe(this.acked);
        return;
      }
      case 'crash': return this.crash(st.writes, st.execs);
    }
  }

  /**
   * The worker dies once `writes` more storage writes landed, while execs are in flight. What
   * reopens must be what some prefix of the execs left, at least every acknowledged one. The
   * prefixes' states come from a twin opened on a copy of storage (the execs are local only, so
   * their outcome does not depend on clocks).
   */
  private async crash(writes: number, execs: Stmt[][]): Promise<void> {
    this.log.push(`crash after ${writes} writes`);
    // Taken before the twin opens: open() points this.store at the store it opens.
    const dying = this.d;
    const dyingStore = this.store;
    const twin = await this.open(new Map([...this.data].map(([k, v]) => [k, structuredClone(v)])));
    const prefixes = [await dump(twin, this.s)];
    for (const stmts of execs) {
      const { sql, params } = render(this.s, stmts);
      await twin.exec(sql, params).catch(() => {});
      prefixes.push(await dump(twin, this.s));
    }
    await twin.close();
    expect(prefixes[0], 'the twin starts where the acknowledged state is').toBe(this.acked);

    dyingStore.crashAfterWrites(writes);
    let settled = 0;
    for (const [i, stmts] of execs.entries()) {
      const { sql, params } = render(this.s, stmts);
      // Acknowledged = resolved: a refusal by a constraint rejects at once, before the writes
      // ahead of it are stored, so it says nothing about them.
      const done = () => { settled = Math.max(settled, i + 1); };
      dying.exec(sql, params).then(done, () => {});
      this.log.push(`  in flight: ${sql} ${JSON.stringify(params)}`);
      await macrotask();
    }
    for (let i = 0; i < 3; i++) await macrotask();
    // The dying handle is abandoned as a killed worker would be (its writes never settle, so it
    // cannot be closed); its small sql.js database stays allocated until this test file ends.
    this.d = await this.open();
    const now = await dump(this.d, this.s);
    const at = prefixes.findIndex((p, i) => i >= settled && p === now);
    expect(at, `${this.log.join('\n')}\nacknowledged ${settled}; reopened as\n${now}\nprefixes\n${prefixes.join('\n')}`).toBeGreaterThanOrEqual(0);
    this.acked = now;
  }

  /** A replica built from the delta, and the peer after a full exchange, equal the source; so does a reopen after it. */
  async finish(): Promise<void> {
    const fresh = await createReplica();
    try {
      fresh.exec(schemaDdl(this.s));
      for (const t of SYNCED) fresh.enableSync(t);
      fresh.applyChanges(this.d.changesSince({}));
      expect(await dump(fresh, this.s, false), `${this.log.join('\n')}\nbuilt from the delta`).toBe(await dump(this.d, this.s, false));
    } finally {
      fresh.close();
    }
    await this.d.applyChanges(this.remote.changesSince(this.d.getVector()));
    this.remote.applyChanges(this.d.changesSince(this.remote.getVector()));
    expect(await dump(this.remote, this.s, false), `${this.log.join('\n')}\npeer after exchange`).toBe(await dump(this.d, this.s, false));
    // The replica that applied the peer's batches reopens to exactly what it showed.
    this.acked = await dump(this.d, this.s);
    await this.step({ k: 'reopen', how: 'clean' });
  }

  async close(): Promise<void> {
    await this.d.close();
    this.remote.close();
  }
}

describe('reopen property: every acknowledged state reopens, in every schema', () => {
  // One property per key kind, so each has its own seed line and a failure names its kind.
  for (const [i, key] of (['ipk', 'int', 'text', 'blob', 'composite'] as const).entries()) {
    const seed = SEED + i;
    it(`key ${key}: random schemas x statements x remote batches x reopen points (seed ${seed}, ${RUNS} cases)`, async () => {
      let cases = 0;
      await fc.assert(
        fc.asyncProperty(caseArb(key), async ({ schema, snapshotRecords, steps }) => {
          cases++;
          const c = new Case(schema, snapshotRecords);
          await c.start();
          try {
            for (const st of steps) await c.step(st);
            await c.finish();
          } finally {
            await c.close().catch(() => {});
          }
        }),
        {
          seed,
          numRuns: RUNS,
          reporter: (out) => {
            if (out.failed) throw new Error(`${fc.defaultReportMessage(out)}\n${String(out.errorInstance)}\nreplay: FC_SEED=${SEED} (this property's seed is FC_SEED + ${i})`);
          },
        },
      );
      expect(cases).toBeGreaterThanOrEqual(RUNS);
    }, 600_000); // generous: the machine is shared; no timing is asserted
  }
});
