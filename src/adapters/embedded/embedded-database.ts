import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { AsyncMutex } from './async-mutex';
import { MIGRATIONS } from './embedded-schema';
import { rethrowDatabaseError } from './storage-errors';

export type SqlValue = DuckDBValue;
export type SqlParams = SqlValue[] | Record<string, SqlValue>;

/** What a statement runs on: the database itself, or the transaction handed to `transaction(fn)`. */
export interface SqlExecutor {
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: SqlParams): Promise<number>;
  /** Runs a query; rows as plain JS objects (BIGINT → bigint, TIMESTAMP → Date). */
  all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]>;
}

/** Another process (a running `himas train`, usually) holds DuckDB's lock on the file. */
export class StoreInUseError extends Error {
  constructor(
    readonly storePath: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the HIMAS store ${storePath} is in use by another process (is a \`himas train\` running?)`,
      options,
    );
    this.name = 'StoreInUseError';
  }
}

interface Holder {
  active: boolean;
  /** Set while the holder is inside BEGIN … COMMIT: what runs once it commits, per-transaction state. */
  transaction?: { onCommit: Array<() => void>; state: Map<object, unknown> };
}

interface Shared {
  database: EmbeddedDatabase;
  handles: number;
}

// DuckDB's file lock is per process, so two instances on one file in one process would not see
// each other and could corrupt it: every open of the same file shares one EmbeddedDatabase.
const openFiles = new Map<string, Shared>();
// Files whose last handle is closing: a new open waits, so two instances never overlap.
const closingFiles = new Map<string, Promise<void>>();

/**
 * The embedded database: one DuckDB file (or `:memory:`) behind one connection. Statements and
 * transactions are serialised through a mutex, so there are no write conflicts inside the process;
 * DuckDB's file lock keeps other processes out. Durability is DuckDB's write-ahead log: a commit
 * that returned survives a crash (the SIGKILL test pins this).
 *
 * Re-entrancy: code running inside `transaction(fn)` (followed through async calls with
 * AsyncLocalStorage) may call `run`/`all`/`transaction` on the database again; those calls join
 * the open transaction instead of deadlocking on the mutex. A nested `transaction` is flattened
 * (there are no savepoints): its writes commit or roll back with the outer one.
 */
export class EmbeddedDatabase implements SqlExecutor {
  /** In-process notifications between adapters sharing the file (the event bus uses it). */
  readonly signals = new EventEmitter();
  private readonly transactionLock = new AsyncMutex();
  // Statements inside one transaction may still be issued concurrently (Promise.all); DuckDB runs
  // one statement per connection at a time, so they queue here as well.
  private readonly statementLock = new AsyncMutex();
  private readonly holderStorage = new AsyncLocalStorage<Holder>();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly sharedKey: string | undefined,
    /** Opened with DuckDB's READ_ONLY access mode: writes fail, and other readers may share the file. */
    readonly readOnly: boolean,
  ) {
    this.signals.setMaxListeners(0);
  }

  /**
   * Opens (creating it and its parent directories if needed) and migrates the database file.
   * `readOnly` opens an existing file in DuckDB's READ_ONLY mode instead: no migration, no writes,
   * and any number of read-only processes may hold it at once (but no writer while they do, so
   * readers hold it only for one request: see src/local/store-access.ts).
   */
  static async open(filePath: string, options: { readOnly?: boolean } = {}): Promise<EmbeddedDatabase> {
    const inMemory = filePath === ':memory:';
    const readOnly = options.readOnly === true && !inMemory;
    const resolved = inMemory ? undefined : path.resolve(filePath);
    // A read-write handle in this process serves reads too; read-only handles share their own.
    const key = resolved !== undefined && readOnly ? `${resolved}#read-only` : resolved;
    if (key !== undefined) {
      await closingFiles.get(key);
      const shared = openFiles.get(key) ?? (readOnly ? openFiles.get(resolved!) : undefined);
      if (shared) {
        shared.handles += 1;
        return shared.database;
      }
      if (!readOnly) await mkdir(path.dirname(key), { recursive: true });
    }
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(
        resolved ?? ':memory:',
        readOnly ? { access_mode: 'READ_ONLY' } : undefined,
      );
    } catch (error) {
      if (/Could not set lock on file/i.test(String((error as Error)?.message))) {
        throw new StoreInUseError(filePath, { cause: error });
      }
      rethrowDatabaseError(error, resolved ?? filePath);
    }
    // Another open of the same file may have raced us through the await above.
    const raced = key !== undefined ? openFiles.get(key) : undefined;
    if (raced) {
      instance.closeSync();
      raced.handles += 1;
      return raced.database;
    }
    const connection = await instance.connect();
    const database = new EmbeddedDatabase(filePath, instance, connection, key, readOnly);
    if (key !== undefined) openFiles.set(key, { database, handles: 1 });
    if (readOnly) return database;
    try {
      await database.migrate();
    } catch (error) {
      await database.close();
      throw error;
    }
    return database;
  }

  async run(sql: string, params?: SqlParams): Promise<number> {
    return this.exclusive(() => this.runStatement(sql, params));
  }

  async all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]> {
    return this.exclusive(() => this.queryStatement<T>(sql, params));
  }

  /**
   * Runs `fn` inside BEGIN … COMMIT, holding the database for its whole duration; ROLLBACK and
   * rethrow if it throws.
   */
  async transaction<R>(fn: (sql: SqlExecutor) => Promise<R>): Promise<R> {
    const executor: SqlExecutor = {
      run: (sql, params) => this.runStatement(sql, params),
      all: <T>(sql: string, params?: SqlParams) => this.queryStatement<T>(sql, params),
    };
    if (this.holdsLock()) return fn(executor);
    return this.exclusive(async () => {
      const holder = this.holderStorage.getStore()!;
      const transaction = { onCommit: [] as Array<() => void>, state: new Map<object, unknown>() };
      holder.transaction = transaction;
      try {
        await this.runStatement('BEGIN TRANSACTION');
        let result: R;
        try {
          result = await fn(executor);
        } catch (error) {
          await this.runStatement('ROLLBACK');
          throw error;
        }
        await this.runStatement('COMMIT');
        // Still holding the database: nothing else can run between the commit and these.
        for (const hook of transaction.onCommit) hook();
        return result;
      } finally {
        holder.transaction = undefined;
      }
    });
  }

  /**
   * Runs `fn` holding the database, without a transaction of its own (each statement commits on
   * its own); inside a transaction, joins it. Lets an adapter keep in-memory state in step with
   * what its statements wrote, with nothing interleaved.
   */
  async serialized<R>(fn: (sql: SqlExecutor) => Promise<R>): Promise<R> {
    return this.exclusive(() => fn(this));
  }

  /**
   * Runs `hook` once what the caller wrote is committed: at once outside a transaction (a statement
   * that returned has committed), after COMMIT inside one, never if it rolls back.
   */
  afterCommit(hook: () => void): void {
    const transaction = this.holderStorage.getStore()?.transaction;
    if (this.holdsLock() && transaction) transaction.onCommit.push(hook);
    else hook();
  }

  /**
   * State an adapter keeps for the transaction the caller is in (made by `init` on first use), or
   * undefined outside a transaction.
   */
  transactionState<T>(key: object, init: () => T): T | undefined {
    const transaction = this.holdsLock() ? this.holderStorage.getStore()?.transaction : undefined;
    if (!transaction) return undefined;
    if (!transaction.state.has(key)) transaction.state.set(key, init());
    return transaction.state.get(key) as T;
  }

  /**
   * Runs `fn` outside any transaction context, so callbacks it schedules (timers, setImmediate)
   * do not inherit the right to join a transaction that happens to be open now.
   */
  detached<R>(fn: () => R): R {
    return this.holderStorage.exit(fn);
  }

  /** Releases this handle; the file closes when the last handle in the process is released. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.sharedKey !== undefined) {
      const shared = openFiles.get(this.sharedKey);
      if (shared && shared.database === this && --shared.handles > 0) return;
      openFiles.delete(this.sharedKey);
    }
    this.closed = true;
    // Wait for the statements already queued, then close: DuckDB checkpoints the WAL on close.
    const closing = this.transactionLock.runExclusive(async () => {
      this.connection.closeSync();
      this.instance.closeSync();
    });
    if (this.sharedKey !== undefined) closingFiles.set(this.sharedKey, closing);
    try {
      await closing;
    } finally {
      if (this.sharedKey !== undefined && closingFiles.get(this.sharedKey) === closing) {
        closingFiles.delete(this.sharedKey);
      }
    }
  }

  private async migrate(): Promise<void> {
    await this.run(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)',
    );
    const rows = await this.all<{ version: number | null }>(
      'SELECT max(version) AS version FROM schema_version',
    );
    const current = rows[0]?.version ?? 0;
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await this.transaction(async (sql) => {
        for (const statement of migration.statements) await sql.run(statement);
        await sql.run('INSERT INTO schema_version VALUES ($1, $2, now())', [
          migration.version,
          migration.name,
        ]);
      });
    }
  }

  /** Whether the caller holds the database (inside `transaction` or `serialized`): its statements join. */
  isHeld(): boolean {
    return this.holdsLock();
  }

  private holdsLock(): boolean {
    return this.holderStorage.getStore()?.active === true;
  }

  private async exclusive<R>(fn: () => Promise<R>): Promise<R> {
    if (this.closed) throw new Error(`the HIMAS store ${this.path} is closed`);
    if (this.holdsLock()) return fn();
    // Work queued before close() still runs: close() queues behind it.
    return this.transactionLock.runExclusive(async () => {
      const holder: Holder = { active: true };
      try {
        return await this.holderStorage.run(holder, fn);
      } finally {
        holder.active = false;
      }
    });
  }

  private runStatement(sql: string, params?: SqlParams): Promise<number> {
    return this.statementLock.runExclusive(async () => {
      try {
        return (await this.connection.run(sql, params)).rowsChanged;
      } catch (error) {
        rethrowDatabaseError(error, this.path);
      }
    });
  }

  private queryStatement<T>(sql: string, params?: SqlParams): Promise<T[]> {
    return this.statementLock.runExclusive(async () => {
      try {
        const reader = await this.connection.runAndReadAll(sql, params);
        return reader.getRowObjectsJS() as T[];
      } catch (error) {
        rethrowDatabaseError(error, this.path);
      }
    });
  }
}
