/**
 * What signed change sets (docs/security.md, "Authorship") would add to the write and apply
 * paths, as ratios against the unsigned path measured in the same run:
 *   - sign per exec: an awaited 1-row DurableReplica.exec, plus signing the change set it committed,
 *   - verify per batch: DurableReplica.applyChanges of a remote batch, plus verifying its signature
 *     (a 1-row live batch and a 2000-row delta piece).
 * Run: `npx tsx bench/signature-bench.ts` (or through bench/run.ts, which calls run()).
 */
import { pathToFileURL } from 'node:url';
import { openDurableReplica, type DurableReplicaHandle } from '../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../shared-worker/persistence/memory-kv-store.js';
import type { ChangeSet } from '../shared-worker/replica/contracts/change-set.js';
import { createReplica } from '../shared-worker/replica/replica.js';
import { createSigningIdentity, signChangeSet, verifyChangeSet, type SignedChangeSet, type SigningIdentity } from '../shared-worker/sync/change-set-signature.js';

const ROUNDS = 7;
const EXECS_PER_ROUND = 200;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function open(): Promise<DurableReplicaHandle> {
  const d = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica });
  await d.exec('CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER)');
  await d.enableSync('items');
  return d;
}

/** The change set as its key-bound author would sign it (same rows and stamps, its own node id). */
const asAuthor = (cs: ChangeSet, identity: SigningIdentity): ChangeSet => ({ ...cs, nodes: [identity.nodeId] });

async function signPerExec(identity: SigningIdentity): Promise<{ plain: number; signed: number }> {
  const d = await open();
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
      await signChangeSet(identity, asAuthor(last!, identity));
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

/** Fresh batches of `rows` rows from the author (new keys each time, so every apply does the work). */
function batch(identity: SigningIdentity, rows: number, seq: number): ChangeSet {
  const hlc = Date.now() * 1024 + seq * rows;
  return {
    nodes: [identity.nodeId],
    tables: [{ table: 'items', columns: ['title', 'qty'], rows: Array.from({ length: rows }, (_, i) => ({ pk: [`b${seq}-${i}`], put: [hlc + i, 0] as [number, number], del: null, cells: [[0, `title ${i}`, hlc + i, 0], [1, i, hlc + i, 0]] as Array<[number, string | number, number, number]> })) }],
  };
}

async function verifyPerBatch(identity: SigningIdentity, rows: number, batches: number): Promise<{ plain: number; signed: number }> {
  const d = await open();
  const signedSets: SignedChangeSet[] = [];
  for (let i = 0; i < 2 * batches * ROUNDS; i++) signedSets.push(await signChangeSet(identity, batch(identity, rows, i)));
  const plain: number[] = [];
  const signed: number[] = [];
  let k = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let tPlain = 0;
    let tSigned = 0;
    for (let i = 0; i < batches; i++) {
      let t = performance.now();
      await d.applyChanges(signedSets[k++]!.changes);
      tPlain += performance.now() - t;
      t = performance.now();
      const s = signedSets[k++]!;
      await verifyChangeSet(s);
      await d.applyChanges(s.changes);
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
    line(`sign per exec, ${identity.scheme}, 1-row exec, signed/unsigned`, await signPerExec(identity), 1.5),
    line(`verify per batch, ${identity.scheme}, 1-row live batch, signed/unsigned`, await verifyPerBatch(identity, 1, 100), 1.5),
    line(`verify per batch, ${identity.scheme}, 2000-row delta piece, signed/unsigned`, await verifyPerBatch(identity, 2000, 3), 1.2),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
