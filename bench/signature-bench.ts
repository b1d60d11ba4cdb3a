/**
 * What signed change sets (docs/security.md, "Authorship") add to the write and apply paths, as
 * ratios against the unsigned path measured in the same run:
 *   - sign per exec: an awaited 1-row DurableReplica.exec, plus signing the set it committed as the
 *     send path does (OwnSigner, once per commit for all peers),
 *   - verify per batch: DurableReplica.applyChanges of a remote batch, plus opening it as a session
 *     does (openBatch: every signature checked, bodies kept beside the registers) — a 1-row live
 *     batch and a 2000-row set (one exec of 2000 rows).
 * Run: `npx tsx bench/signature-bench.ts` (or through bench/run.ts, which calls run()).
 */
import { pathToFileURL } from 'node:url';
import { openDurableReplica, type DurableReplicaHandle } from '../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../shared-worker/persistence/memory-kv-store.js';
import { EMPTY_CHANGE_SET, type ChangeSet } from '../shared-worker/replica/contracts/change-set.js';
import { createReplica } from '../shared-worker/replica/replica.js';
import { createSigningIdentity, type SigningIdentity } from '../shared-worker/replica/contracts/signing-identity.js';
import { signChangeSet } from '../shared-worker/sync/change-set-signature.js';
import { openBatch, OwnSigner } from '../shared-worker/sync/authored-batch.js';

const ROUNDS = 7;
const EXECS_PER_ROUND = 200;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function open(): Promise<DurableReplicaHandle> {
  const d = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica });
  await d.exec('CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER)');
  await d.enableSync('items');
  return d;
}

async function signPerExec(): Promise<{ plain: number; signed: number }> {
  const d = await open();
  const signer = new OwnSigner(d.identity);
  let last: ChangeSet | null = null;
  d.onCommit((c) => { last = c.changes; });
  const plain: number[] = [];
  const signed: number[] = [];
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating plain and signed execs, so drift and GC fall on both alike.
    let tPlain = 0;
    let tSigned = 0;
    for (let i = 0; i < EXECS_PER_ROUND; i++) {
      let t = performance.now();
      await d.exec('INSERT INTO items VALUES (?, ?, ?)', [`p${n++}`, 'title', i]);
      tPlain += performance.now() - t;
      t = performance.now();
      await d.exec('INSERT INTO items VALUES (?, ?, ?)', [`s${n++}`, 'title', i]);
      const stamp = last! as ChangeSet;
      await signer.sign(stamp, stamp.tables[0]!.rows[0]!.put![0]);
      tSigned += performance.now() - t;
    }
    if (round > 0) {
      plain.push(tPlain / EXECS_PER_ROUND);
      signed.push(tSigned / EXECS_PER_ROUND);
    }
  }
  await d.close();
  return { plain: median(plain), signed: median(signed) };
}

/** Fresh one-stamp batches of `rows` rows from the author (new keys each time, so every apply does the work). */
function batch(identity: SigningIdentity, rows: number, seq: number): ChangeSet {
  const hlc = Date.now() * 1024 + seq;
  return {
    nodes: [identity.nodeId],
    tables: [{ table: 'items', columns: ['title', 'qty'], rows: Array.from({ length: rows }, (_, i) => ({ pk: [`b${seq}-${i}`], put: [hlc, 0] as [number, number], del: null, cells: [[0, `title ${i}`, hlc, 0], [1, i, hlc, 0]] as Array<[number, string | number, number, number]> })) }],
  };
}

async function verifyPerBatch(identity: SigningIdentity, rows: number, batches: number): Promise<{ plain: number; signed: number }> {
  const d = await open();
  const sets: Array<{ changes: ChangeSet; body: Uint8Array }> = [];
  for (let i = 0; i < 2 * batches * ROUNDS; i++) {
    const changes = batch(identity, rows, i);
    sets.push({ changes, body: await signChangeSet(identity, changes) });
  }
  const plain: number[] = [];
  const signed: number[] = [];
  let k = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let tPlain = 0;
    let tSigned = 0;
    for (let i = 0; i < batches; i++) {
      let t = performance.now();
      await d.applyChanges(sets[k++]!.changes);
      tPlain += performance.now() - t;
      t = performance.now();
      const opened = await openBatch({ signed: [sets[k++]!.body], changes: EMPTY_CHANGE_SET }, d.nodeId);
      await d.applyChanges(opened.changes, { signed: opened.signed });
      tSigned += performance.now() - t;
    }
    if (round > 0) {
      plain.push(tPlain / batches);
      signed.push(tSigned / batches);
    }
  }
  await d.close();
  return { plain: median(plain), signed: median(signed) };
}

function line(name: string, r: { plain: number; signed: number }, goal: number): string {
  const ratio = r.signed / r.plain;
  return `${name} (unsigned ${(r.plain * 1000).toFixed(0)} us, signed ${(r.signed * 1000).toFixed(0)} us): ${ratio.toFixed(2)}x (goal <= ${goal}) ${ratio <= goal ? 'ok' : 'OVER'}`;
}

export async function run(): Promise<string[]> {
  const identity = await createSigningIdentity();
  return [
    line(`sign per exec, ${identity.scheme}, 1-row DurableReplica.exec + signing on the send path, signed/unsigned`, await signPerExec(), 1.5),
    line(`verify per batch, ${identity.scheme}, 1-row live batch, verified+kept/plain apply`, await verifyPerBatch(identity, 1, 100), 1.5),
    line(`verify per batch, ${identity.scheme}, 2000-row set, verified+kept/plain apply`, await verifyPerBatch(identity, 2000, 3), 1.2),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
