import { statSync } from 'node:fs';
import {
  type Capabilities,
  ChangeEmitter,
  type ChangeNotice,
  ConnectionError,
  ConnectionHealth,
  defineCapabilities,
  describeSubject,
  type ErrorSubject,
  Mutex,
  StoreClosedError,
  type StoreTransaction,
  type StrataLogger,
  type StrataStore,
  safeLogger,
  TransactionScope,
  ValidationError,
  validateInteger,
  validateMaxPayloadBytes,
  type WakeUpSource,
} from '@strata/core';
import type BetterSqlite3 from 'better-sqlite3';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { sqliteCheckpoints } from './checkpoints.js';
import { type SqliteContext, type SqliteSettings, Statements } from './connection.js';
import { sqliteEvents } from './events.js';
import { isSqliteConnectionLoss, mapSqliteError } from './map-sqlite-error.js';
import { migrate } from './migrate.js';
import { sqliteQueue } from './queue.js';
import { sqliteSnapshots } from './snapshots.js';
import { sqliteTransfer } from './transfer.js';

/** A Drizzle database on better-sqlite3 (any schema). */
// biome-ignore lint/suspicious/noExplicitAny: any schema
export type AnySqliteDatabase = BetterSQLite3Database<any> & {
  /** The better-sqlite3 connection underneath. */
  $client: BetterSqlite3.Database;
};

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Apply the shipped migrations when opening. @defaultValue true */
  migrate?: boolean;
  /** How long a write waits for another connection's lock before failing with `TIMEOUT`. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /** `PRAGMA synchronous`: `'full'` survives power loss; `'normal'` (safe in WAL mode) is faster. @defaultValue `'full'` */
  synchronous?: 'full' | 'normal';
  /** How often to look for commits by other processes (`PRAGMA data_version`), from the first wake-up listener until the store closes. @defaultValue 100 */
  changePollIntervalMs?: number;
  /** Events fetched per internal page by `readStream` and `readAll`. @defaultValue 500 */
  readPageSize?: number;
  /** Snapshots kept per stream. @defaultValue 3 */
  snapshotsToKeep?: number;
  /** Default deliveries before a message is dead-lettered. @defaultValue 5 */
  maxAttempts?: number;
  /**
   * Largest payload accepted, in bytes of UTF-8 JSON (as `JSON.stringify` writes it): per event (its
   * data and metadata), per message (its body and headers) and per snapshot (its state). A larger one
   * is refused with `VALIDATION` before anything is written. At most `MAX_PAYLOAD_BYTES`.
   * @defaultValue 1048576 (1 MiB, `DEFAULT_MAX_PAYLOAD_BYTES`)
   */
  maxPayloadBytes?: number;
  /**
   * Where the store reports a connection that became unusable and its recovery, and failures of the
   * cross-process change poll (and what `subscribe()` and `consume()` over it report, unless given
   * their own): `console`, pino, winston or any object with `debug`, `info`, `warn` and `error`. Never
   * given payloads or bound values. @defaultValue silent
   */
  logger?: StrataLogger;
}

/** Row counts of a Strata SQLite database, for tests and monitoring. */
export interface SqliteRowCounts {
  /** Stored events. */
  events: number;
  /** Streams. */
  streams: number;
  /** Queue messages in every state. */
  messages: number;
  /** Snapshots. */
  snapshots: number;
  /** Checkpoints. */
  checkpoints: number;
}

/** A Strata store on SQLite. */
export interface SqliteStore extends StrataStore<AnySqliteDatabase> {
  /** The Drizzle database over the connection, for the application's own queries. */
  readonly db: AnySqliteDatabase;
  /** The better-sqlite3 connection. */
  readonly client: BetterSqlite3.Database;
  /** Counts the rows of each Strata table. */
  rowCounts(): Promise<SqliteRowCounts>;
}

/**
 * Creates a Strata store on SQLite: a file path or `':memory:'` (the store opens and closes the
 * connection), or a better-sqlite3 connection or Drizzle database the application owns (never closed by
 * the store). Sets WAL mode and a busy timeout, and applies the shipped migrations unless `migrate: false`.
 *
 * Every write runs in a `BEGIN IMMEDIATE` transaction, so several processes sharing one file stay
 * correct: expected versions, queue claims and checkpoint compare-and-set hold across them. Calls are
 * serialized on the connection; other processes' commits are noticed by polling `PRAGMA data_version`.
 *
 * @example
 * ```ts
 * const store = await createSqliteStore('./app.db')
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * ```
 * @throws `VALIDATION` on bad options; `CONNECTION` when the file cannot be opened
 */
export async function createSqliteStore(
  // Stryker disable next-line all: out of the suite's reach: the adapter's own options, which the suite's settings do not include
  connection: string | BetterSqlite3.Database | AnySqliteDatabase = ':memory:',
  options: SqliteStoreOptions = {},
): Promise<SqliteStore> {
  const settings: SqliteSettings = {
    readPageSize: validateInteger(options.readPageSize ?? 500, 'options.readPageSize', 1, 100_000),
    snapshotsToKeep: validateInteger(options.snapshotsToKeep ?? 3, 'options.snapshotsToKeep', 1, 1000),
    maxAttempts: validateInteger(options.maxAttempts ?? 5, 'options.maxAttempts', 1, 1000),
    maxPayloadBytes: validateMaxPayloadBytes(options.maxPayloadBytes),
  };
  // Stryker disable next-line StringLiteral: out of the suite's reach: the adapter's own options, which the suite's settings do not include
  const busyTimeoutMs = validateInteger(options.busyTimeoutMs ?? 5000, 'options.busyTimeoutMs', 0, 3_600_000);
  // Stryker disable next-line StringLiteral: out of the suite's reach: the adapter's own options, which the suite's settings do not include
  const pollMs = validateInteger(options.changePollIntervalMs ?? 100, 'options.changePollIntervalMs', 1, 3_600_000);
  const logger = safeLogger(options.logger);
  const synchronous = options.synchronous ?? 'full';
  // Stryker disable next-line StringLiteral: out of the suite's reach: the adapter's own options, which the suite's settings do not include
  if (synchronous !== 'full' && synchronous !== 'normal') throw new ValidationError('options.synchronous', "must be 'full' or 'normal'");

  const { drizzle } = await import('drizzle-orm/better-sqlite3');
  let client: BetterSqlite3.Database;
  // Stryker disable next-line all: out of the suite's reach: a connection the application opened itself, which the suite's SQLite factories never pass
  let owned = false;
  if (typeof connection === 'string') {
    const { default: Database } = await import('better-sqlite3');
    try {
      client = new Database(connection);
    } catch (error) {
      // Stryker disable next-line all: out of the suite's reach: runs only when better-sqlite3 throws (errors.test.ts, connection-loss.test.ts)
      throw openError(connection, error);
    }
    owned = true;
  } else if ('$client' in connection) {
    client = connection.$client;
  } else {
    client = connection;
  }
  try {
    // A read-only connection (an export, a migration's source) changes nothing, not even the journal mode.
    client.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: out of the suite's reach: WAL rather than a rollback journal changes only how long another connection's reads wait, which no case can time
    if (!client.readonly) client.pragma('journal_mode = WAL');
    client.pragma(`synchronous = ${synchronous}`);
    // Stryker disable next-line ConditionalExpression: out of the suite's reach: the adapter's own options, which the suite's settings do not include
    if (options.migrate ?? true) migrate(client);
  } catch (error) {
    // Stryker disable all: out of the suite's reach: runs only when better-sqlite3 throws (errors.test.ts, connection-loss.test.ts)
    if (owned) client.close();
    const code = (error as { code?: unknown } | null)?.code;
    // A file (or its directory) the process may read but not write: name it; no retry fixes that.
    if (typeof connection === 'string' && typeof code === 'string' && /^SQLITE_(READONLY|CANTOPEN|PERM|AUTH)/.test(code)) throw openError(connection, error);
    throw mapSqliteError(error, { operation: 'open' });
  }
  // Stryker restore all
  const db = (typeof connection === 'object' && '$client' in connection ? connection : drizzle(client)) as AnySqliteDatabase;
  return sqliteStore(client, db, settings, pollMs, owned, logger);
}

/**
 * The error of a database file that cannot be opened: `CONNECTION`, naming the path, not retryable (a
 * missing directory or a denied permission stays so until someone fixes it).
 */
// Stryker disable all: out of the suite's reach: runs only when better-sqlite3 throws (errors.test.ts, connection-loss.test.ts)
function openError(path: string, error: unknown): ConnectionError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason =
    error instanceof TypeError && /directory does not exist/.test(error.message)
      ? 'its directory does not exist'
      : `SQLite cannot open it${typeof code === 'string' ? ` (${code})` : ''}: check that the file and its directory exist and are writable by this process`;
  return new ConnectionError(`open: cannot open the SQLite database ${JSON.stringify(path)}: ${reason}`, { cause: error, retryable: false });
}

// Stryker restore all
function contracts(ctx: SqliteContext, db: AnySqliteDatabase): StoreTransaction<AnySqliteDatabase> {
  return {
    events: sqliteEvents(ctx),
    queue: sqliteQueue(ctx),
    snapshots: sqliteSnapshots(ctx),
    checkpoints: sqliteCheckpoints(ctx),
    transfer: sqliteTransfer(ctx),
    db,
  };
}

/**
 * A check that the database file is still the one the connection opened. With WAL, SQLite goes on
 * writing to a file that was deleted or replaced under it, and every such write is lost when the
 * connection closes; this turns that into a `CONNECTION` error before the write. The path is the one
 * SQLite resolved when it opened the file (`PRAGMA database_list`), so a relative name, a later
 * `chdir` or a re-pointed symlink does not confuse it. A no-op for in-memory and temporary databases,
 * and when the file cannot be examined.
 */
function fileGuard(client: BetterSqlite3.Database): (subject: ErrorSubject) => void {
  // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
  const main = (client.pragma('database_list') as { name: string; file: string }[]).find((d) => d.name === 'main');
  const path = main?.file ?? '';
  // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
  if (path === '') return () => undefined;
  const identity = (): { dev: number; ino: number } | null | 'unknown' => {
    try {
      // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
      return statSync(path, { throwIfNoEntry: false }) ?? null;
    } catch {
      // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
      return 'unknown'; // cannot look (permissions): let SQLite itself decide
    }
  };
  const opened = identity();
  // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
  if (opened === null || opened === 'unknown') return () => undefined;
  return (subject) => {
    const now = identity();
    // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
    if (now === 'unknown') return;
    if (now === null || now.ino !== opened.ino || now.dev !== opened.dev) {
      // Stryker disable all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
      throw new ConnectionError(
        `${describeSubject(subject)}: the database file ${JSON.stringify(path)} was ${now === null ? 'removed' : 'replaced'} after the store opened it; writes would be lost, so none are made (reopen the store)`,
        { retryable: false },
      );
    }
  };
}

// Stryker restore all
function sqliteStore(
  client: BetterSqlite3.Database,
  db: AnySqliteDatabase,
  settings: SqliteSettings,
  pollMs: number,
  owned: boolean,
  logger: StrataLogger,
): SqliteStore {
  const statements = new Statements(client);
  const mutex = new Mutex();
  const scope = new TransactionScope();
  const emitter = new ChangeEmitter();
  const health = new ConnectionHealth(logger);
  const checkFile = fileGuard(client);
  let closed = false;

  /** Maps a driver error, noting a lost connection for the logger; `committing`: the error came from a commit. */
  // Stryker disable next-line BooleanLiteral: out of the suite's reach: says whether a write may have applied, which only an I/O error at commit makes uncertain
  const fail = (error: unknown, subject: ErrorSubject, committing = false) => {
    // Stryker disable next-line ObjectLiteral: out of the suite's reach: says whether a write may have applied, which only an I/O error at commit makes uncertain
    const mapped = mapSqliteError(error, subject, { mayHaveApplied: committing });
    // Stryker disable next-line all: out of the suite's reach: only the logger sees it (connection-loss.test.ts)
    if (mapped.code === 'CONNECTION') health.lost(subject.operation, (error as { code?: string } | null)?.code);
    return mapped;
  };

  /** Runs `fn` atomically: its own IMMEDIATE transaction, or a savepoint when a transaction is open. */
  // One transaction function for every write: better-sqlite3 builds a wrapper for each `transaction()` call.
  const immediate = client.transaction((fn: () => unknown) => fn()).immediate;
  const atomically = <T>(fn: () => T): T => immediate(fn) as T;

  const context = (isOpen: () => boolean, what: 'store' | 'transaction', locked: boolean, announce: (n: ChangeNotice) => void): SqliteContext => {
    const check = (operation: string) => {
      if (!isOpen()) throw new StoreClosedError(operation, what);
    };
    // The store's own calls are refused inside its transaction's callback: they would wait for it for ever.
    const guard = <T>(operation: string, fn: () => T): Promise<T> => (locked ? Promise.resolve().then(fn) : scope.admit(operation, () => mutex.run(fn)));
    return {
      settings,
      sql: statements,
      check,
      read(subject, fn) {
        return guard(subject.operation, () => {
          check(subject.operation);
          try {
            return fn();
          } catch (error) {
            throw fail(error, subject);
          }
        });
      },
      write(subject, fn) {
        return guard(subject.operation, () => {
          check(subject.operation);
          const notices: ChangeNotice[] = [];
          let result: ReturnType<typeof fn>;
          try {
            // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
            if (!locked) checkFile(subject);
            result = atomically(() => fn((n) => notices.push(n)));
          } catch (error) {
            // Stryker disable next-line BooleanLiteral: out of the suite's reach: says whether a write may have applied, which only an I/O error at commit makes uncertain
            throw fail(error, subject, !locked);
          }
          // Only a committed write says the database is usable again (reads work on a vanished file).
          // Stryker disable next-line all: out of the suite's reach: only the logger sees it (connection-loss.test.ts)
          if (!locked) health.ok();
          for (const n of notices) announce(n);
          return result;
        });
      },
    };
  };

  const root = context(
    () => !closed,
    'store',
    false,
    (n) => emitter.emit(n),
  );
  const wakeUps = crossProcessWakeUps(client, emitter, mutex, pollMs, () => closed, logger);
  const capabilities: Readonly<Capabilities> = defineCapabilities({
    transactions: true,
    snapshots: true,
    queue: true,
    checkpoints: true,
    wakeUps: true,
    crossProcessWakeUps: true,
    transfer: true,
  });

  return {
    capabilities,
    wakeUps,
    logger,
    client,
    ...contracts(root, db),
    get db() {
      // The same rule as every adapter's: inside the store's own transaction callback, use tx.db.
      scope.check('db');
      return db;
    },

    transaction<T>(fn: (tx: StoreTransaction<AnySqliteDatabase>) => Promise<T>): Promise<T> {
      // A closed store says so first, even to a call from inside a transaction callback (as every method does).
      if (closed) return Promise.reject(new StoreClosedError('transaction'));
      return scope.admit('transaction', () =>
        mutex.run(async () => {
          if (closed) throw new StoreClosedError('transaction');
          const subject = { operation: 'transaction' };
          try {
            client.exec('BEGIN IMMEDIATE');
          } catch (error) {
            throw fail(error, subject);
          }
          const notices: ChangeNotice[] = [];
          let active = true;
          try {
            const result = await scope.run(() =>
              fn(
                contracts(
                  context(
                    () => active,
                    'transaction',
                    true,
                    (n) => notices.push(n),
                  ),
                  db,
                ),
              ),
            );
            // Stryker disable next-line BlockStatement: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
            try {
              // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
              checkFile(subject);
            } catch (error) {
              // Stryker disable next-line all: out of the suite's reach: matters only when the database file is removed or replaced under an open store (connection-loss.test.ts)
              throw fail(error, subject);
            }
            try {
              client.exec('COMMIT');
            } catch (error) {
              // Stryker disable next-line all: out of the suite's reach: runs only when better-sqlite3 throws (errors.test.ts, connection-loss.test.ts)
              throw fail(error, subject, true);
            }
            // Stryker disable next-line all: out of the suite's reach: only the logger sees it (connection-loss.test.ts)
            health.ok();
            for (const n of notices) emitter.emit(n);
            return result;
          } finally {
            active = false;
            try {
              if (client.inTransaction) client.exec('ROLLBACK');
            } catch (rollbackError) {
              // The error already on its way out is the one worth reporting.
              // Stryker disable next-line all: out of the suite's reach: only the logger sees it (connection-loss.test.ts)
              if (isSqliteConnectionLoss(rollbackError)) health.lost('transaction');
            }
          }
        }),
      );
    },

    rowCounts() {
      // Stryker disable next-line all: out of the suite's reach: the name shows only when this adapter's probe is called inside the store's own transaction callback, which the suite never does
      return scope.admit('rowCounts', () =>
        mutex.run(() => {
          const count = (table: string) => (client.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
          return {
            events: count('strata_events'),
            streams: count('strata_streams'),
            messages: count('strata_queue_messages'),
            snapshots: count('strata_snapshots'),
            checkpoints: count('strata_checkpoints'),
          };
        }),
      );
    },

    async close() {
      scope.check('close');
      if (closed) return;
      closed = true;
      emitter.close();
      await scope.admit('close', () =>
        mutex.run(() => {
          if (owned) client.close();
        }),
      );
    },
  };
}

/**
 * Announces commits made through this store at once, and commits made by other connections or
 * processes once anyone listens, noticed by polling `PRAGMA data_version` (it changes whenever another
 * connection commits). The baseline is `data_version` as the store opened, so a commit of another
 * process made before the first listener came is announced at the first poll, never missed; polling
 * then goes on until the store closes (the first poll after close() stops it) or the application
 * closes the connection it lent the store. A poll is one pragma while nothing changed.
 */
function crossProcessWakeUps(
  client: BetterSqlite3.Database,
  emitter: ChangeEmitter,
  mutex: Mutex,
  pollMs: number,
  isClosed: () => boolean,
  logger: StrataLogger,
): WakeUpSource {
  // Stryker disable all: out of the suite's reach: only the logger sees it (connection-loss.test.ts)
  let failing = false;
  /** Subscribers poll on their own as a backstop, so a failing look is reported, once, and retried. */
  const reportFailure = (error: unknown) => {
    if (failing) return;
    failing = true;
    const code = (error as { code?: unknown } | null)?.code;
    logger.warn('strata: looking for commits of other processes failed; retrying at every poll', { code: typeof code === 'string' ? code : undefined });
  };
  // Stryker restore all
  const dataVersion = () => client.pragma('data_version', { simple: true }) as number;
  const look = () => {
    const row = client.prepare('SELECT CAST(position AS TEXT) AS p, stream_id AS s, type FROM strata_events ORDER BY position DESC LIMIT 1').get() as
      | { p: string; s: string; type: string }
      | undefined;
    const queues = client.prepare('SELECT queue, max(seq) AS m FROM strata_queue_messages WHERE seq > ? GROUP BY queue').all(seq) as {
      queue: string;
      m: number;
    }[];
    return { row, queues };
  };
  // The baseline: `data_version` now; the first look after another connection's commit announces the last
  // event and every queue with messages (hints, so one announced again does no harm).
  let version = dataVersion();
  let head = 0n;
  let seq = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const poll = () =>
    mutex.run(() => {
      if (isClosed() || !client.open) {
        // Closed (a poll queued behind close(), or the application closed the connection it lent the
        // store): there is nothing left to tell.
        clearInterval(timer);
        return;
      }
      const now = dataVersion();
      // Stryker disable all: out of the suite's reach: only the logger sees it (connection-loss.test.ts)
      if (failing) {
        failing = false;
        logger.info('strata: looking for commits of other processes works again');
      }
      // Stryker restore all
      if (now === version) return;
      version = now;
      const { row, queues } = look();
      let told = false;
      if (row !== undefined && BigInt(row.p) > head) {
        head = BigInt(row.p);
        emitter.emit({ kind: 'events', streamId: row.s, type: row.type, position: head });
        told = true;
      }
      for (const q of queues) {
        seq = Math.max(seq, q.m);
        emitter.emit({ kind: 'queue', queue: q.queue });
        told = true;
      }
      // Another connection committed what neither a new event nor a new message shows (a nack, a redrive,
      // a delay that ended early, a checkpoint): whoever waits reads again, at most once per poll.
      if (!told) emitter.emit({ kind: 'resync' });
    });
  const startPolling = () => {
    const interval = setInterval(() => void poll().catch(reportFailure), pollMs);
    interval.unref();
    return interval;
  };
  return {
    onClose: (listener) => emitter.onClose(listener),
    onChange(listener) {
      timer ??= startPolling();
      return emitter.onChange(listener);
    },
  };
}
