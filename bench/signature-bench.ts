/**
 * What signed change sets (docs/security.md, "Authorship") add to the write and apply paths, as
 * ratios against the unsigned path measured in the same run:
 *   - sign per exec: 2,000 awaited 1-row DurableReplica.exec calls, with the send path's signing
 *     of every commit (OwnSigner, once per commit for all peers) vs without,
 *   - verify per batch: receiving a remote batch, decoded and applied, unsigned (protocol 2) vs
 *     opened as a session does (openBatch: the signature checked, the body kept beside the
 *     registers, the vector raised along the author's chain as for a relayed set,
 *     vector-chain.ts): a 1-row live batch and a 2000-row set (one exec of 2000 rows).
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
import { vectorCeiling } from '../shared-worker/sync/vector-chain.js';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { negativeZeroCodec } from '../shared-worker/replica/contracts/msgpack-negative-zero.js';
import { validateChangeSet } from '../shared-worker/sync/peer-protocol.js';
import { fromWire, toWire } from '../shared-worker/sync/wire-changes.js';

const wireEncoder = new Encoder({ extensionCodec: negativeZeroCodec });
const wireDecoder = new Decoder({ extensionCodec: negativeZeroCodec });

/** Measured rounds (after one warm-up round); 5 x 400 = 2,000 execs per side for the sign line. */
const ROUNDS = 5;
const EXECS_PER_ROUND = 400;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function open(): Promise<DurableReplicaHandle> {
  const d = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica });
  await d.exec('CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER)');
  await d.enableSync('items');
  return d;
}

/**
 * Rounds of EXECS_PER_ROUND awaited 1-row execs, alternating a round without and a round with the
 * send path's signing: as the sync coordinator does, each durable commit is signed when it is
 * announced (the exec does not wait for it), and the round ends when every signature is done.
 */
async function signPerExec(): Promise<{ plain: number; signed: number }> {
  const d = await open();
  const signer = new OwnSigner(d.identity);
  let signing: Array<Promise<Uint8Array>> | null = null;
  d.onCommit((c) => {
    if (signing && c.changes) signing.push(signer.sign(c.changes, c.changes.tables[0]!.rows[0]!.put![0]));
  });
  const plain: number[] = [];
  const signed: number[] = [];
  let n = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    for (const withSigning of [false, true]) {
      signing = withSigning ? [] : null;
      const t = performance.now();
      for (let i = 0; i < EXECS_PER_ROUND; i++) await d.exec('INSERT INTO items VALUES (?, ?, ?)', [`r${n++}`, 'title', i]);
      if (signing) await Promise.all(signing);
      const perExec = (performance.now() - t) / EXECS_PER_ROUND;
      if (round > 0) (withSigning ? signed : plain).push(perExec);
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

/**
 * The receive path of one batch, unsigned (protocol 2: decode the wire bytes, validate, apply) vs
 * signed (openBatch: decode each body, check its signature, validate; apply keeping the bodies).
 */
async function verifyPerBatch(identity: SigningIdentity, rows: number, batches: number): Promise<{ plain: number; signed: number }> {
  const d = await open();
  const sets: Array<{ wire: Uint8Array; body: Uint8Array }> = [];
  let prev = 0;
  for (let i = 0; i < 2 * batches * (ROUNDS + 1); i++) {
    const changes = batch(identity, rows, i);
    const hlc = changes.tables[0]!.rows[0]!.put![0];
    sets.push({ wire: wireEncoder.encode(toWire(changes)), body: await signChangeSet(identity, changes, { prev: prev < hlc ? prev : null, parts: 1 }) });
    prev = hlc;
  }
  // Per-batch times, plain and signed alternating: the median of hundreds of interleaved pairs
  // holds up on a shared machine where a round's mean does not.
  const plain: number[] = [];
  const signed: number[] = [];
  let k = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    for (let i = 0; i < batches; i++) {
      let t = performance.now();
      await d.applyChanges(validateChangeSet(fromWire(wireDecoder.decode(sets[k++]!.wire))));
      const tPlain = performance.now() - t;
      t = performance.now();
      const opened = await openBatch({ signed: [sets[k++]!.body], changes: EMPTY_CHANGE_SET }, d.nodeId, (n) => d.isKnownAuthor(n));
      await d.applyChanges(opened.changes, { signed: opened.signed, vectorCeiling: vectorCeiling(opened.links, d.getVector()) });
      const tSigned = performance.now() - t;
      if (round > 0) {
        plain.push(tPlain);
        signed.push(tSigned);
      }
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
    line(`sign per exec, ${identity.scheme}, 2,000 1-row DurableReplica.exec, signing on the send path/without`, await signPerExec(), 1.5),
    line(`verify per batch, ${identity.scheme}, 1-row live batch, signed+verified/unsigned receive`, await verifyPerBatch(identity, 1, 100), 1.5),
    line(`verify per batch, ${identity.scheme}, 2000-row set, signed+verified/unsigned receive`, await verifyPerBatch(identity, 2000, 3), 1.2),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
