/**
 * Type-level tests, checked by `tsc` (npm test's typecheck), never run: every line marked
 * `@ts-expect-error` must NOT compile (tsc fails if it does), every other line must.
 */
import type { Battery, ExecResult, Ledger, SqlRow, SqlValue } from '../../lib/index.js';

interface Note {
  id: string;
  body: string;
  done: number;
}

/** Exact type equality (not mere assignability). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

export async function execCarriesTheRowType(db: Battery, ledger: Ledger): Promise<void> {
  const typed = await db.exec<Note>('SELECT id, body, done FROM notes');
  assertType<Equal<typeof typed.rows, Note[]>>();
  const first: string = typed.rows[0]!.body;
  // @ts-expect-error a column the Row type does not have
  void typed.rows[0]!.title;
  // @ts-expect-error body is a string, not a number
  const wrong: number = typed.rows[0]!.body;
  void first;
  void wrong;

  const local = await db.execLocal<{ key: string }>('SELECT key FROM settings');
  assertType<Equal<typeof local.rows, { key: string }[]>>();

  const viaLedger = await ledger.exec<Note>('SELECT * FROM notes');
  assertType<Equal<typeof viaLedger, ExecResult<Note>>>();
}

export async function untypedStaysAsBefore(db: Battery): Promise<void> {
  const plain = await db.exec('SELECT 1 AS one');
  assertType<Equal<typeof plain.rows, SqlRow[]>>();
  assertType<Equal<SqlRow, Record<string, SqlValue>>>();
  // Any column may be read; its value is a SqlValue, not any.
  const v = plain.rows[0]!.one;
  assertType<Equal<typeof v, SqlValue>>();
  // @ts-expect-error a SqlValue is not known to be a string
  const s: string = plain.rows[0]!.one;
  void s;
}

export function watchCarriesTheRowType(db: Battery, ledger: Ledger): void {
  const stop = db.watch<Note>('SELECT * FROM notes WHERE done = ?', [0], (result) => {
    assertType<Equal<typeof result.rows, Note[]>>();
    // @ts-expect-error a column the Row type does not have
    void result.rows[0]?.title;
  });
  stop();
  ledger.watch<Note>('SELECT * FROM notes', null, (result) => {
    assertType<Equal<typeof result.rows, Note[]>>();
  });
  // @ts-expect-error a callback typed for another row does not fit
  db.watch<Note>('SELECT * FROM notes', null, (result: ExecResult<{ other: number }>) => void result);
  // @ts-expect-error Row must be an object type
  db.watch<number>('SELECT 1', null, () => {});
}
