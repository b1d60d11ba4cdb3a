/**
 * export() a few pages at a time, so that a snapshot of a big database never holds the worker
 * for the whole copy (a 50 MB export() is one synchronous call of ~0.4 s on a loaded box, and
 * every write queued behind it waits).
 *
 * How: SQLite's online backup API, which sql.js exports as C functions (sqlite3_backup_init /
 * _step / _finish), copies `pages` pages per step from our connection into a second database.
 * Writes made through the same connection between steps are copied into the destination as they
 * happen (sqlite.org/c3ref/backup_finish.html), so the destination, once the step that completes
 * the copy returns SQLITE_DONE, is the database exactly as of that moment: a commit point,
 * because steps run between execs, never inside one.
 *
 * Reading the destination's bytes back without another whole-file copy. Quirk (sql.js 1.16,
 * Emscripten MEMFS): `new Database(data)` writes `data` into an empty in-memory file, and MEMFS
 * keeps `data.slice(0, length)` as the file's storage array. Our `data` answers slice() with a
 * buffer we own, sized above the final file: MEMFS then writes every page in place into it
 * (it reallocates only to grow past that size or to shrink the file). Guards: the source never
 * shrinks and never outgrows the buffer while the copy runs, and the finished buffer's header
 * must name the page count the destination reports; otherwise (or on any error) the cursor falls
 * back to one export(), so a changed sql.js degrades to today's cost, never to a wrong file.
 */
import type { Database, SqlJsStatic } from 'sql.js';
import type { ExportCursor } from './contracts/replica-types.js';
import { handleOf } from './sqljs-c-api.js';

const SQLITE_OK = 0;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_DONE = 101;
/** Extra room in the destination buffer: the pages writes may add while the copy runs. */
const HEADROOM = 1 / 8;
const MIN_HEADROOM_PAGES = 256;

interface BackupApi {
  init(dest: number, destName: string, src: number, srcName: string): number;
  step(backup: number, pages: number): number;
  finish(backup: number): number;
}

const apis = new WeakMap<SqlJsStatic, BackupApi>();

function backupApi(sql: SqlJsStatic): BackupApi {
  let api = apis.get(sql);
  if (!api) {
    const cwrap = (sql as unknown as { cwrap: (name: string, ret: string, args: string[]) => (...a: unknown[]) => number }).cwrap;
    api = {
      init: cwrap('sqlite3_backup_init', 'number', ['number', 'string', 'number', 'string']) as BackupApi['init'],
      step: cwrap('sqlite3_backup_step', 'number', ['number', 'number']) as BackupApi['step'],
      finish: cwrap('sqlite3_backup_finish', 'number', ['number']) as BackupApi['finish'],
    };
    apis.set(sql, api);
  }
  return api;
}

function pragmaNumber(db: Database, pragma: string): number {
  return Number(db.exec(`PRAGMA ${pragma}`)[0]!.values[0]![0]);
}

/** An empty database file with this page size: what the destination starts as. */
function emptyFile(sql: SqlJsStatic, pageSize: number): Uint8Array {
  const db = new sql.Database();
  try {
    db.run(`PRAGMA page_size = ${pageSize}; CREATE TABLE x(a); DROP TABLE x`);
    return db.export().slice();
  } finally {
    db.close();
  }
}

/** A cursor over `source` (our connection); `fallback` is the whole-file export used when a guard trips. */
export function openExportCursor(sql: SqlJsStatic, source: Database, fallback: () => Uint8Array): ExportCursor {
  const api = backupApi(sql);
  const pageSize = pragmaNumber(source, 'page_size');
  let pages = pragmaNumber(source, 'page_count');
  const capacity = (pages + Math.max(MIN_HEADROOM_PAGES, Math.ceil(pages * HEADROOM))) * pageSize;
  const file = new Uint8Array(capacity);
  const first = emptyFile(sql, pageSize);
  file.set(first);
  const seed = first.slice();
  Object.defineProperty(seed, 'slice', { value: () => file });
  let dest: Database | null = new sql.Database(seed);
  let backup = api.init(handleOf(dest), 'main', handleOf(source), 'main');
  let image: Uint8Array | null = null;

  const stop = () => {
    if (backup) api.finish(backup);
    backup = 0;
    dest?.close();
    dest = null;
  };
  const fallBack = () => {
    stop();
    image = fallback();
    return true;
  };
  if (!backup) return finishedCursor(fallBack, stop, () => image);

  const step = (n: number): boolean => {
    if (image) return true;
    if (!dest) throw new Error('export cursor was aborted');
    try {
      const now = pragmaNumber(source, 'page_count');
      if (now < pages || now * pageSize > capacity) return fallBack();
      pages = now;
      const rc = api.step(backup, n);
      if (rc === SQLITE_OK || rc === SQLITE_BUSY || rc === SQLITE_LOCKED) return false;
      if (rc !== SQLITE_DONE) return fallBack();
      api.finish(backup);
      backup = 0;
      const total = pragmaNumber(dest, 'page_count');
      // The header's page count (offset 28, big-endian) is written by the copy's last commit:
      // if MEMFS had moved the file out of our buffer, the buffer would not show it.
      const inHeader = new DataView(file.buffer, 28, 4).getUint32(0);
      if (inHeader !== total || total * pageSize > capacity) return fallBack();
      stop();
      image = file.subarray(0, total * pageSize);
      return true;
    } catch {
      return fallBack();
    }
  };
  return { step, result: () => mustHave(image), abort: stop };
}

function finishedCursor(done: () => boolean, abort: () => void, get: () => Uint8Array | null): ExportCursor {
  done();
  return { step: () => true, result: () => mustHave(get()), abort };
}

function mustHave(image: Uint8Array | null): Uint8Array {
  if (!image) throw new Error('export cursor: the copy is not complete');
  return image;
}
