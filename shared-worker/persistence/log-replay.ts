/**
 * Replays log records onto a replica in order, merging runs of records into fewer calls.
 *
 * Each applyChanges/replayRows call is one SQLite transaction plus validation; one call per
 * record costs a millisecond or more, so thousands of small records would take seconds
 * to replay. Runs are merged only where that cannot change the outcome:
 *   - a run holds records of one kind: changes only (synced tables) or rows only (non-synced);
 *     a record with both is applied on its own, so the order between kinds is kept exactly;
 *   - a changes run never holds the same (table, key) twice, so no row of a merged batch depends
 *     on another row of it; register merges of different rows are independent;
 *   - a merged batch stays well inside the caps applyChanges checks (remote-validation.ts).
 * Row images are absolute upserts/deletes by rowid applied in order, so a run of them is one list.
 * A schema change (ALTER ... ADD/DROP COLUMN logged as itself) is run again on its own, in order:
 * the records after it were made on the new columns.
 */
import { EMPTY_CHANGE_SET, mergeChangeSets, type ChangeSet, type SignedBody, type SqlValue } from '../replica/contracts/change-set.js';
import type { LogRecord } from './durable-log-record.js';
import { replaySize } from './durable-log-limits.js';
import { BatteryError } from '../protocol/errors.js';
import type { Replica, RowWrite } from '../replica/contracts/replica-types.js';

/** Per merged call; a fraction of the validation caps (250k rows, 256 MiB) to keep memory modest. */
const MAX_MERGED_ROWS = 20_000;
const MAX_MERGED_BYTES = 32 << 20;
const MAX_MERGED_NODES = 1_000;
const MAX_MERGED_TABLES = 500;

/** How far a replay got: records[0..applied) are in the replica; records[applied] failed (if any). */
export interface ReplayOutcome {
  applied: number;
  failure: { seq: number; error: BatteryError } | null;
}

/**
 * Replays `records` in order and stops at the first one that does not apply: the replica then
 * holds exactly the records before it (a merged run that fails is rolled back and retried record
 * by record to find which). The caller decides what to do with the rest (snapshot-restore.ts).
 */
export function replayRecords(replica: Replica, records: LogRecord[]): ReplayOutcome {
  let changes: ChangeSet[] = [];
  let signed: SignedBody[] = [];
  let rows: RowWrite[] = [];
  let run: LogRecord[] = [];
  let applied = 0;
  const keys = new Set<string>();
  const nodes = new Set<string>();
  let mergedRows = 0;
  let mergedBytes = 0;
  let mergedTables = 0;
  let failure: ReplayOutcome['failure'] = null;

  /** One record on its own, as it was committed; false (failure set) if it does not apply. */
  const applyOne = (record: LogRecord): boolean => {
    try {
      if (record.schema) replica.replaySchemaChange(record.schema);
      if (record.changes || record.parked) {
        replica.applyChanges(record.changes ?? EMPTY_CHANGE_SET, {
          trusted: true, ...(record.signed ? { signed: record.signed } : {}), ...(record.vectorCeiling ? { vectorCeiling: record.vectorCeiling } : {}),
          ...(record.parked ? { parked: record.parked } : {}),
        });
      }
      if (record.rows.length > 0) replica.replayRows(record.rows);
      applied++;
      return true;
    } catch (e) {
      failure = { seq: record.seq, error: new BatteryError('WORKER', `log replay failed at entry ${record.seq}: ${e instanceof Error ? e.message : String(e)}`, { seq: record.seq }) };
      return false;
    }
  };
  /** The gathered run in one call; on failure (rolled back) record by record. False once a record failed. */
  const flush = (): boolean => {
    const list = run;
    let ok = true;
    try {
      if (changes.length > 0) replica.applyChanges(mergeChangeSets(changes), { trusted: true, ...(signed.length > 0 ? { signed } : {}) });
      else if (rows.length > 0) replica.replayRows(rows);
      applied += list.length;
    } catch {
      ok = false;
    }
    changes = [];
    signed = [];
    rows = [];
    run = [];
    keys.clear();
    nodes.clear();
    mergedRows = mergedBytes = mergedTables = 0;
    if (ok) return true;
    for (const record of list) if (!applyOne(record)) return false;
    return true;
  };

  for (const record of records) {
    // A record applied under a vector ceiling is redone alone: merged with others, the ceiling
    // would hold back their entries too, or theirs would lift its own.
    // Parked registers are redone alone too (ApplyOptions.parked is per call).
    if (record.schema || (record.changes && record.rows.length > 0) || record.vectorCeiling || record.parked) {
      if (!flush() || !applyOne(record)) return { applied, failure };
      continue;
    }
    if (record.changes) {
      if ((rows.length > 0 || !fitsRun(record.changes)) && !flush()) return { applied, failure };
      changes.push(record.changes);
      if (record.signed) signed.push(...record.signed);
      run.push(record);
      for (const k of rowKeys(record.changes)) keys.add(k);
      for (const n of record.changes.nodes) nodes.add(n);
      const size = replaySize(record.changes);
      mergedRows += size.rows;
      mergedBytes += size.bytes;
      mergedTables += record.changes.tables.length;
    } else if (record.rows.length > 0) {
      if ((changes.length > 0 || rows.length + record.rows.length > MAX_MERGED_ROWS) && !flush()) return { applied, failure };
      rows.push(...record.rows);
      run.push(record);
    } else {
      // Nothing to redo (a commit that only moved the version): it applies trivially, in order.
      if (run.length > 0) run.push(record);
      else applied++;
    }
  }
  flush();
  return { applied, failure };

  function fitsRun(cs: ChangeSet): boolean {
    if (changes.length === 0) return true;
    const size = replaySize(cs);
    if (mergedRows + size.rows > MAX_MERGED_ROWS || mergedBytes + size.bytes > MAX_MERGED_BYTES) return false;
    if (nodes.size + cs.nodes.length > MAX_MERGED_NODES || mergedTables + cs.tables.length > MAX_MERGED_TABLES) return false;
    for (const k of rowKeys(cs)) if (keys.has(k)) return false;
    return true;
  }
}

function rowKeys(cs: ChangeSet): string[] {
  const out: string[] = [];
  for (const t of cs.tables) {
    // SQLite table names are case-insensitive; keys compare as stored (replayed keys are exact).
    const table = t.table.toLowerCase();
    for (const r of t.rows) out.push(`${table}\u0000${r.pk.map(keyPart).join('\u0001')}`);
  }
  return out;
}

function keyPart(v: SqlValue): string {
  if (v === null) return 'n';
  if (typeof v === 'number') return `f${Object.is(v, -0) ? '-0' : v}`;
  if (typeof v === 'string') return `s${v}`;
  return `b${Array.from(v).join(',')}`;
}
