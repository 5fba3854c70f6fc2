import {
  type Capabilities,
  ChangeEmitter,
  type ChangeNotice,
  defineCapabilities,
  StoreClosedError,
  type StoreTransaction,
  type StrataLogger,
  type StrataStore,
  safeLogger,
  TransactionScope,
  ValidationError,
  validateInteger,
  validateMaxPayloadBytes,
} from '@strata/core';
import { sql } from 'drizzle-orm';
import { pgCheckpoints } from './checkpoints.js';
import { namesOf, type PgContext, type PgNames, type PgSettings, pgContext } from './context.js';
import { pgEvents } from './events.js';
import { type AnyPgDatabase, migrateWith, validateSchemaName } from './migrate.js';
import { pgQueue } from './queue.js';
import { drizzleSession, type PgExecutor, type PgSession, sessionOf } from './session.js';
import { pgSnapshots } from './snapshots.js';
import { type PgAtomic, pgTransfer, positionCeilingSql } from './transfer.js';

/** Options of `createPostgresStore` and `createDrizzleStore`. */
export interface PostgresStoreOptions {
  /** The PostgreSQL schema that holds Strata's tables. @defaultValue `'strata'` */
  schema?: string;
  /** Apply the shipped migrations before returning the store. @defaultValue true */
  migrate?: boolean;
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
   * When appends and sends are announced over LISTEN/NOTIFY at commit — one notification per committing
   * transaction on the schema's fixed channels (see `notificationChannels`), which `@strata/realtime`
   * listens to. Writes through `join(tx)` notify too: the database sends the notification when the
   * application's transaction commits.
   *
   * - `'auto'`: while a listener is registered on the schema (a `@strata/realtime` listener registers
   *   itself). A NOTIFY is not free: PostgreSQL serializes the commits of notifying transactions across
   *   the cluster, so concurrent writers lose group commit; nobody pays for it while nobody listens.
   * - `true`: always (for listeners of your own that do not register).
   * - `false`: never; a transaction that must be prepared (`PREPARE TRANSACTION`, two-phase commit)
   *   cannot have notified, so use `false` for a store that writes in such transactions.
   *
   * @defaultValue 'auto'
   */
  notify?: 'auto' | boolean;
  /** Pool size when the store opens its own node-postgres pool from a connection string. @defaultValue 10 */
  poolSize?: number;
  /**
   * Longest wait for a connection of a node-postgres pool (the store's own, or one under the Drizzle
   * database given), including the wait for a free one when all are in use. Past it the call fails with
   * `TIMEOUT`, retryable, instead of waiting for ever. Raise it, or the pool size, for long transactions
   * under heavy concurrency. @defaultValue 10000
   */
  connectionTimeoutMs?: number;
  /**
   * Longest wait for the answer to one statement on a node-postgres pool. Past it the connection is
   * dropped and the call fails with `CONNECTION`, as for any lost connection: a server or network path
   * that stalls without closing the socket does not hang the application. Raise it if single statements
   * legitimately run longer (huge appends, sends or purges). @defaultValue 60000
   */
  statementTimeoutMs?: number;
  /**
   * Run Strata's own statements on a node-postgres pool as named prepared statements: each is parsed and
   * planned once per connection, then only bound and executed (an append or a send skips a planning that
   * cost about as much as its execution); at most 100 per connection, whatever the number of stores on it.
   * Turn it off behind a connection pooler in transaction mode that does not keep prepared statements
   * (PgBouncer before 1.21, or with `max_prepared_statements = 0`). A prepared statement that fails before
   * it runs (the server lost it, a pooler, a column type changed under it) is run again on a new
   * connection outside a transaction, and fails its transaction inside one; after three such failures the
   * store stops preparing and logs a warning. `readAll` pages, transfers, migrations and your own queries
   * are never prepared. @defaultValue true
   */
  prepareStatements?: boolean;
  /**
   * Where the store reports connections lost and recovered (and what `subscribe()` and `consume()` over
   * it report, unless given their own): `console`, pino, winston or any object with `debug`, `info`,
   * `warn` and `error`. Never given payloads or bound values. @defaultValue silent
   */
  logger?: StrataLogger;
}

/** Row counts of a Strata schema, for tests and monitoring. */
export interface PostgresRowCounts {
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

/** A Strata store on PostgreSQL. */
export interface PostgresStore extends StrataStore<AnyPgDatabase> {
  /** The Drizzle database the store runs on. */
  readonly db: AnyPgDatabase;
  /** The PostgreSQL schema holding its tables. */
  readonly schema: string;
  /**
   * Strata's contracts inside a transaction the application opened with Drizzle, so that its own
   * writes and Strata's commit or roll back together. The application commits, so the store cannot tell
   * when: these writes wake nothing in this process's store, but the database announces them at commit
   * over LISTEN/NOTIFY (unless `notify: false`), which wakes subscriptions and workers attached to a
   * `@strata/realtime` listener at once; others see them at their next poll.
   *
   * @example
   * ```ts
   * await db.transaction(async (tx) => {
   *   await tx.insert(orders).values(order)
   *   await store.join(tx).events.append(`order-${order.id}`, [{ type: 'OrderPlaced', data: order }])
   * })
   * ```
   */
  join(tx: AnyPgDatabase): StoreTransaction<AnyPgDatabase>;
  /**
   * The bound below which `transfer.import` accepts new event positions now: (the oldest running
   * transaction's id) × 2^20, where positions of transactions still running or yet to start begin.
   * It only grows, so a migration tool can read it before writing anything and refuse a source whose
   * largest position is not below it (an import checks it again, under its lock).
   *
   * @throws `CLOSED` after `close()`
   */
  positionCeiling(): Promise<bigint>;
  /** Counts the rows of each table of the schema. */
  rowCounts(): Promise<PostgresRowCounts>;
}

/** Options of a store, validated, as the store and the node-postgres entry use them. */
export interface ResolvedStoreOptions {
  /** The PostgreSQL schema. */
  schema: string;
  /** Settings of the contracts. */
  settings: PgSettings;
  /** `connectionTimeoutMs`, validated. */
  connectionTimeoutMs: number;
  /** `statementTimeoutMs`, validated. */
  statementTimeoutMs: number;
  /** The logger, made safe. */
  logger: StrataLogger;
  /** Whether to apply the shipped migrations. */
  migrate: boolean;
  /** `prepareStatements`, validated. */
  prepareStatements: boolean;
}

/**
 * Validates the options of a store (all but `poolSize`, which only a connection string uses).
 *
 * @throws `VALIDATION` on a bad option
 */
export function resolveStoreOptions(options: PostgresStoreOptions): ResolvedStoreOptions {
  const schema = validateSchemaName(options.schema ?? 'strata');
  const settings: PgSettings = {
    readPageSize: validateInteger(options.readPageSize ?? 500, 'options.readPageSize', 1, 100_000),
    snapshotsToKeep: validateInteger(options.snapshotsToKeep ?? 3, 'options.snapshotsToKeep', 1, 1000),
    maxAttempts: validateInteger(options.maxAttempts ?? 5, 'options.maxAttempts', 1, 1000),
    maxPayloadBytes: validateMaxPayloadBytes(options.maxPayloadBytes),
    notify: notifyOption(options.notify),
  };
  return {
    schema,
    settings,
    connectionTimeoutMs: validateInteger(options.connectionTimeoutMs ?? 10_000, 'options.connectionTimeoutMs', 1, 3_600_000),
    statementTimeoutMs: validateInteger(options.statementTimeoutMs ?? 60_000, 'options.statementTimeoutMs', 1, 86_400_000),
    logger: safeLogger(options.logger),
    migrate: options.migrate ?? true,
    prepareStatements: validateBooleanOption(options.prepareStatements, 'options.prepareStatements', true),
  };
}

/**
 * What the node-postgres entry adds to a store on a pool: how to close the pool it opened, and how to
 * build a Drizzle database on a transaction's client (for `tx.db`).
 */
export interface PoolSupport {
  /** Ends the pool the store opened; called by `close()`, or when the migrations fail. */
  release?: () => Promise<void>;
  /** A Drizzle database on one client of the pool. */
  wrapClient?: (client: unknown) => AnyPgDatabase;
}

/**
 * Refuses what is not a Drizzle database (`undefined` from an unset environment variable, most often)
 * with a `VALIDATION` error, before anything reads its properties.
 *
 * @param db - what the application passed as the store's connection
 * @param expected - what the entry point takes, for the message
 * @throws {@link ValidationError} naming `connection`
 */
export function checkDatabase(db: unknown, expected = 'a Drizzle database'): asserts db is AnyPgDatabase {
  if (typeof db !== 'object' || db === null || typeof (db as { execute?: unknown }).execute !== 'function') {
    throw new ValidationError(
      'connection',
      `must be ${expected}, got ${db === null ? 'null' : typeof db}${db === undefined ? ' (is the environment variable that should hold it set?)' : ''}`,
    );
  }
}

/**
 * Opens a store on a Drizzle database with validated options: builds the session, applies the
 * migrations unless told not to, and returns the store. Nothing here loads node-postgres.
 *
 * @throws `CONNECTION` when the database cannot be reached; `MIGRATION` when a migration fails
 */
export async function openPostgresStore(db: AnyPgDatabase, resolved: ResolvedStoreOptions, pool: PoolSupport = {}): Promise<PostgresStore> {
  checkDatabase(db);
  const { schema, settings, connectionTimeoutMs, statementTimeoutMs, logger } = resolved;
  const release = pool.release ?? (async () => undefined);
  const session = sessionOf(db, {
    connectionTimeoutMs,
    statementTimeoutMs,
    logger,
    prepare: resolved.prepareStatements,
    ...(pool.wrapClient === undefined ? {} : { wrapClient: pool.wrapClient }),
  });
  if (resolved.migrate) {
    try {
      await migrateWith(session, schema);
    } catch (error) {
      await release();
      throw error;
    }
  }
  return postgresStore(db, session, schema, settings, logger, release);
}

function validateBooleanOption(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ValidationError(field, 'must be a boolean');
  return value;
}

function notifyOption(value: unknown): PgSettings['notify'] {
  if (value === undefined || value === 'auto') return 'auto';
  if (typeof value !== 'boolean') throw new ValidationError('options.notify', "must be 'auto', true or false");
  return value ? 'always' : 'never';
}

/** How long close() lets calls in flight finish before it drops their connections. */
const CLOSE_GRACE_MS = 5000;

/** Runs a function with `ctx` itself: already inside a transaction. */
const inPlace =
  (ctx: PgContext): PgAtomic =>
  (_operation, fn) =>
    fn(ctx);

function contracts(ctx: PgContext, executor: PgExecutor, atomic: PgAtomic = inPlace(ctx)): StoreTransaction<AnyPgDatabase> {
  return {
    events: pgEvents(ctx),
    queue: pgQueue(ctx),
    snapshots: pgSnapshots(ctx),
    checkpoints: pgCheckpoints(ctx),
    transfer: pgTransfer(ctx, atomic),
    get db() {
      return executor.db;
    },
  };
}

function postgresStore(
  db: AnyPgDatabase,
  session: PgSession,
  schema: string,
  settings: PgSettings,
  logger: StrataLogger,
  release: () => Promise<void>,
): PostgresStore {
  const names: PgNames = namesOf(schema);
  const emitter = new ChangeEmitter();
  let closed = false;
  const capabilities: Readonly<Capabilities> = defineCapabilities({
    transactions: true,
    snapshots: true,
    queue: true,
    checkpoints: true,
    wakeUps: true,
    crossProcessWakeUps: false,
    transfer: true,
  });
  // On a pool a call on the store inside its transaction's callback would run outside the transaction
  // (or wait on its row locks); on PGlite it would wait for it for ever: it is refused on both.
  const scope = new TransactionScope();
  const root = pgContext(
    session,
    names,
    settings,
    () => !closed,
    'store',
    (n) => emitter.emit(n),
    scope,
  );
  // The store's own imports run in a transaction of their own (refused, as every store call, from
  // inside the store's transaction callbacks); nothing announces them.
  const atomic: PgAtomic = (operation, fn) =>
    scope.admit(operation, () =>
      session.transaction({ operation }, (tx) =>
        fn(
          pgContext(
            tx,
            names,
            settings,
            () => !closed,
            'store',
            () => undefined,
          ),
        ),
      ),
    );
  const { events, queue, snapshots, checkpoints, transfer } = contracts(root, session, atomic);

  return {
    capabilities,
    wakeUps: emitter,
    logger,
    get db() {
      // Inside the store's own transaction callback the store's database is another connection (a
      // pool) or the one the transaction holds (PGlite, which would wait for ever): use tx.db.
      scope.check('db');
      return db;
    },
    schema,
    events,
    queue,
    snapshots,
    checkpoints,
    transfer,

    async transaction<T>(fn: (tx: StoreTransaction<AnyPgDatabase>) => Promise<T>): Promise<T> {
      if (closed) throw new StoreClosedError('transaction');
      const notices: ChangeNotice[] = [];
      let active = true;
      try {
        const result = await scope.admit('transaction', () =>
          session.transaction({ operation: 'transaction' }, (tx) =>
            scope.run(() =>
              fn(
                contracts(
                  pgContext(
                    tx,
                    names,
                    settings,
                    () => active && !closed,
                    'transaction',
                    (n) => notices.push(n),
                  ),
                  tx,
                ),
              ),
            ),
          ),
        );
        active = false;
        for (const n of notices) emitter.emit(n);
        return result;
      } finally {
        active = false;
      }
    },

    join(tx) {
      const joined = drizzleSession(tx, { logger }, true);
      return contracts(
        pgContext(
          joined,
          names,
          settings,
          () => !closed,
          'store',
          () => undefined,
        ),
        joined,
      );
    },

    async positionCeiling() {
      const [row] = await root.run<{ c: string }>({ operation: 'positionCeiling' }, positionCeilingSql);
      return BigInt(row?.c ?? '0');
    },

    async rowCounts() {
      if (closed) throw new StoreClosedError('rowCounts');
      const [row] = await root.run<PostgresRowCounts>(
        { operation: 'rowCounts' },
        sql`select
          (select count(*) from ${names.events})::int as events,
          (select count(*) from ${names.streams})::int as streams,
          (select count(*) from ${names.messages})::int as messages,
          (select count(*) from ${names.snapshots})::int as snapshots,
          (select count(*) from ${names.checkpoints})::int as checkpoints`,
      );
      return row ?? { events: 0, streams: 0, messages: 0, snapshots: 0, checkpoints: 0 };
    },

    async close() {
      scope.check('close');
      if (closed) return;
      closed = true;
      emitter.close();
      // Calls in flight may finish (their next statement rejects with CLOSED); past the grace, their
      // connections are dropped, so that close() returns whatever the application's code awaits.
      const ended = release();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const inTime = await Promise.race([
        ended.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), CLOSE_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        session.drop();
        await ended;
      }
    },
  };
}
