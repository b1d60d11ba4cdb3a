/**
 * A Kysely dialect over a Battery: Kysely's own SQLite adapter, introspector and query compiler,
 * and a driver whose every query is one `battery.exec`, so a Kysely write to a synced table is
 * captured and sent to peers like any other. One connection, no lock: each exec is atomic and
 * the worker keeps their order.
 *
 * Transactions: a Battery refuses BEGIN (each exec is its own transaction, see the README), so
 * `db.transaction()` fails with BAD_OP saying so; several writes that must be atomic go in one
 * `battery.exec` instead.
 */
import {
  CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type DatabaseConnection, type DatabaseIntrospector, type DatabaseMetadata, type DatabaseMetadataOptions,
  type SchemaMetadata, type TableMetadata, type Dialect, type DialectAdapter, type Driver,
  type Kysely, type QueryCompiler, type QueryResult, type TransactionSettings,
} from 'kysely';
import { BatteryError, type Battery, type SqlParams } from '../index.js';

/** The part of a Battery the dialect uses (a Ledger after init() fits too). */
export type BatteryExec = Pick<Battery, 'exec'>;

export interface BatteryDialectConfig {
  /** An open Battery, or a function giving one (called once, on the first query). */
  battery: BatteryExec | (() => Promise<BatteryExec>);
}

export class BatteryDialect implements Dialect {
  constructor(private readonly config: BatteryDialectConfig) {}

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createDriver(): Driver {
    return new BatteryDriver(this.config);
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new BatteryIntrospector(new SqliteIntrospector(db));
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
}

/** The library's own tables start with this prefix (README, "Limits"); they are not the app's schema. */
const INTERNAL_TABLE_PREFIX = '_rb_';

class BatteryIntrospector implements DatabaseIntrospector {
  constructor(private readonly sqlite: DatabaseIntrospector) {}

  getSchemas(): Promise<SchemaMetadata[]> {
    return this.sqlite.getSchemas();
  }

  async getTables(options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    return (await this.sqlite.getTables(options)).filter((t) => !t.name.startsWith(INTERNAL_TABLE_PREFIX));
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

class BatteryDriver implements Driver {
  private connection: BatteryConnection | null = null;

  constructor(private readonly config: BatteryDialectConfig) {}

  async init(): Promise<void> {
    const b = this.config.battery;
    this.connection = new BatteryConnection(typeof b === 'function' ? await b() : b);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection!;
  }

  async beginTransaction(_connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    throw new BatteryError('BAD_OP', 'rtc-battery/kysely: transactions are not supported (each query is its own transaction; put statements that must be atomic in one battery.exec)');
  }

  async commitTransaction(): Promise<void> {}

  async rollbackTransaction(): Promise<void> {}

  async releaseConnection(): Promise<void> {}

  /** The Battery belongs to the caller; closing Kysely leaves it open. */
  async destroy(): Promise<void> {
    this.connection = null;
  }
}

/** Column names of the counters appended to a write without RETURNING. */
const CHANGES = 'rtc_battery_kysely_changes';
const ROWID = 'rtc_battery_kysely_rowid';

const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode']);

class BatteryConnection implements DatabaseConnection {
  constructor(private readonly battery: BatteryExec) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const params = compiled.parameters as SqlParams;
    const node = compiled.query as { kind: string; returning?: unknown };
    if (!WRITES.has(node.kind) || node.returning) {
      const { rows } = await this.battery.exec(compiled.sql, params);
      return { rows: rows as R[] };
    }
    // Kysely reports affected rows and the insert id of a write; a Battery returns rows only, so
    // the same exec (one transaction) reads them right after the write. The appended statement
    // has no parameter markers, so the parameters still bind to the write alone.
    const { rows } = await this.battery.exec(`${compiled.sql};\nSELECT changes() AS ${CHANGES}, last_insert_rowid() AS ${ROWID}`, params);
    const counters = rows[0] as Record<string, unknown> | undefined;
    const changes = counters?.[CHANGES];
    const rowid = counters?.[ROWID];
    return {
      rows: [],
      ...(typeof changes === 'number' ? { numAffectedRows: BigInt(changes) } : {}),
      ...(node.kind === 'InsertQueryNode' && typeof rowid === 'number' ? { insertId: BigInt(rowid) } : {}),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new BatteryError('BAD_OP', 'rtc-battery/kysely: streaming is not supported; use execute()');
  }
}
