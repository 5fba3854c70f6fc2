import { createHash } from 'node:crypto';
import {
  ConnectionError,
  ConnectionHealth,
  describeSubject,
  type ErrorSubject,
  StoreClosedError,
  StrataError,
  type StrataLogger,
  ValidationError,
} from '@strata/core';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { isConnectionLoss, isLateAnswer, mapPgError, safeCause } from './map-pg-error.js';
import type { AnyPgDatabase } from './migrate.js';
import { rowsOf } from './rows.js';

/** Runs statements and maps their errors: on the store's connections, or inside one transaction. */
export interface PgExecutor {
  /** Runs `query` and returns its rows; failures are {@link StrataError}s naming `subject`. */
  execute<T>(subject: ErrorSubject, query: SQL): Promise<T[]>;
  /**
   * A Drizzle database on this executor's connection, for the application's own statements: inside a
   * transaction, one whose statements run in that transaction.
   */
  readonly db: AnyPgDatabase;
}

/** The store's way to the database: statements, and transactions that own their connection. */
export interface PgSession extends PgExecutor {
  /**
   * Runs `fn` in a transaction. The original error of `fn` wins over a failing `ROLLBACK`; a
   * connection lost during `COMMIT` is a `CONNECTION` error with `outcomeUnknown`; a transaction in
   * which a statement failed is never reported as committed: it rejects with that statement's error.
   */
  transaction<T>(subject: ErrorSubject, fn: (tx: PgExecutor) => Promise<T>): Promise<T>;
  /** Drops the connections of the calls in flight (they fail with `CONNECTION`): close() past its grace. */
  drop(): void;
}

/** What a session needs besides the database. */
export interface PgSessionOptions {
  /** Longest wait for a pooled connection, in ms. */
  connectionTimeoutMs: number;
  /** Longest wait for the answer to one statement on a pooled connection, in ms. */
  statementTimeoutMs: number;
  /** Where connection losses and recoveries are reported. */
  logger: StrataLogger;
  /**
   * Wraps a checked-out pooled client in a Drizzle database (`drizzle(client)` of
   * `drizzle-orm/node-postgres`), for {@link PgExecutor.db} inside a transaction. Passed in so that
   * nothing here imports node-postgres. Without it a pool session's transactions have no `db`.
   */
  wrapClient?: (client: unknown) => AnyPgDatabase;
  /**
   * Whether Strata's own statements run as named prepared statements, each parsed and planned once per
   * connection. @defaultValue true
   */
  prepare?: boolean;
}

/** A statement as node-postgres takes it (Drizzle adds `rowMode`, `types`, `name`). */
interface QueryConfig {
  text: string;
  [option: string]: unknown;
}

/** What a query answers. */
interface QueryResult {
  rows: unknown[];
  command?: string;
}

/** The parts of a node-postgres (pg-pool) client that the session uses. */
interface PooledClient {
  // The callback form: node-postgres' promise form keeps each result alive longer (measured: peak RSS
  // 110 MB instead of 88 MB reading a million events in pages of 500).
  query(config: QueryConfig, values: unknown[], callback: (error: Error | null, result: QueryResult) => void): void;
  release(destroy?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  /** node-postgres' connection; its socket is destroyed when a statement outlives its deadline. */
  connection?: { stream?: { destroy(error?: Error): void } };
}

/** The parts of a node-postgres (pg-pool) pool that the session uses. */
interface Pool {
  // The callback form: pg-pool calls it in the same synchronous step in which it removes its own
  // 'error' listener from the client, so Strata's goes on before any other event can be emitted.
  connect(callback: (error: Error | undefined, client: PooledClient | undefined, release: () => void) => void): void;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** The node-postgres pool under a Drizzle database, when there is one (Drizzle keeps it as `$client`). */
export function poolOf(db: AnyPgDatabase): Pool | undefined {
  const client = (db as { $client?: unknown }).$client as Partial<Pool> | undefined;
  if (typeof client !== 'object' || client === null) return undefined;
  const looksLikePool =
    typeof client.connect === 'function' &&
    typeof client.totalCount === 'number' &&
    typeof client.idleCount === 'number' &&
    typeof client.waitingCount === 'number';
  return looksLikePool ? (client as Pool) : undefined;
}

/**
 * The session of a Drizzle database: a node-postgres pool gets {@link poolSession}, which owns each
 * connection's lifecycle; anything else (PGlite, a single client, another driver) runs through Drizzle.
 */
export function sessionOf(db: AnyPgDatabase, options: PgSessionOptions): PgSession {
  const pool = poolOf(db);
  return pool === undefined ? drizzleSession(db, options) : poolSession(pool, db, options);
}

/**
 * Operations that only read: a connection lost under them changed nothing, so their errors never have
 * `outcomeUnknown`, and they are tried again at once on another connection when theirs had died idle.
 * Every other operation may write (`queue.receive` claims messages).
 */
const READS = new Set([
  'events.readStream',
  'events.readAll',
  'events.streamInfo',
  'events.headPosition',
  'queue.stats',
  'queue.nextVisibleInMs',
  'queue.deadLetters',
  'snapshots.load',
  'checkpoints.get',
  'checkpoints.list',
  'rowCounts',
]);

const dialect = new PgDialect();

/**
 * Operations whose statements are not prepared: one-off work (migrations, transfers, counts) whose text
 * may vary with its input, and `readAll` pages, whose filters (type, stream prefix) need the plan made
 * for their values (a generic plan of a filtered page can scan the whole table; planning is small next
 * to reading a page). Every other operation of the adapter builds one of a few fixed texts, its values
 * bound as parameters.
 */
const UNPREPARED = new Set(['migrate', 'rowCounts', 'positionCeiling', 'events.readAll', 'transfer.export', 'transfer.import', 'transfer.counts']);

/** Most statement names a session hands out; past it statements run unnamed, so no text can grow a connection's cache for ever. */
const MAX_PREPARED = 200;

/**
 * Most statements Strata prepares on one connection, whatever the number of stores (schemas) sharing
 * it: each costs the server some memory for as long as the connection lives (about 20 KB).
 */
const MAX_PER_CONNECTION = 100;

/**
 * Failures of a prepared statement, raised before it ran: the server no longer has it (26000: `DEALLOCATE`,
 * `DISCARD ALL`, a pooler that moved the session), has one of that name already (42P05: a pooler in
 * transaction mode), or its cached plan no longer fits the table (0A000: a column's type changed).
 */
const PREPARED_FAILED = new Set(['26000', '42P05', '0A000']);

/** The statement names Strata prepared on each connection, shared by every store of the process. */
const preparedOn = new WeakMap<object, Set<string>>();

/**
 * Names the statements a session prepares: one name per text, from a hash of the text, so that two
 * stores on the same connections (another schema, another notify mode) never give one name two texts.
 */
function statementNames() {
  const names = new Map<string, string>();
  return (operation: string, text: string): string | undefined => {
    if (UNPREPARED.has(operation)) return undefined;
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= MAX_PREPARED) return undefined;
      name = `strata_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return name;
  };
}

/**
 * Forgets every statement prepared on `client`, here and in node-postgres (which would otherwise only
 * bind a name the server no longer has): after the application ran `DEALLOCATE` or `DISCARD` on it.
 */
function forgetPrepared(client: object): void {
  preparedOn.delete(client);
  const connection = (client as { connection?: { parsedStatements?: unknown } }).connection;
  if (connection !== undefined && typeof connection.parsedStatements === 'object' && connection.parsedStatements !== null) connection.parsedStatements = {};
}

/**
 * How many times a statement that cannot have been applied (a read, a `BEGIN`) is tried when it failed
 * only because its pooled connection had died while idle: after a restart, several idle connections of
 * the pool may be dead at once.
 */
const REPEATS = 3;

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** Raised (and caught) when a statement outlives its deadline; never seen by callers. */
class Deadline extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/**
 * A session over a node-postgres pool that does not trust the driver with connection lifecycles:
 *
 * - every checked-out client has an `'error'` listener until it is released (pg-pool removes its own
 *   while a client is out, so a backend dying between two statements of a transaction would otherwise
 *   be an uncaught `'error'` event);
 * - a client is always released, and destroyed when its connection is broken, whatever fails —
 *   `BEGIN`, a statement, `COMMIT`, `ROLLBACK`;
 * - acquiring a client is bounded by `connectionTimeoutMs`, and each statement's answer by
 *   `statementTimeoutMs` (past it the socket is destroyed: a stalled server or network path is a lost
 *   connection, not a hang);
 * - a statement that cannot have been applied (a read, or a `BEGIN`) and failed because its pooled
 *   connection had died while idle is tried again on another connection (up to three times), so a
 *   server restart costs callers nothing where nothing could have been lost.
 */
export function poolSession(pool: Pool, db: AnyPgDatabase, options: PgSessionOptions): PgSession {
  const { connectionTimeoutMs, statementTimeoutMs, logger, wrapClient } = options;
  const health = new ConnectionHealth(logger);
  let prepare = options.prepare !== false;
  const nameOf = statementNames();
  /**
   * A statement as node-postgres takes it: named (prepared once per connection) unless preparation is
   * off, the operation's text varies, or the connection holds its share of prepared statements already.
   */
  const statementOf = (client: object, subject: ErrorSubject, text: string): string | QueryConfig => {
    if (!prepare) return text;
    const name = nameOf(subject.operation, text);
    if (name === undefined) return text;
    let names = preparedOn.get(client);
    if (names === undefined) {
      names = new Set();
      preparedOn.set(client, names);
    }
    if (!names.has(name)) {
      if (names.size >= MAX_PER_CONNECTION) return text;
      names.add(name);
    }
    return { name, text };
  };
  let preparedFailures = 0;
  /**
   * Whether `error` is a prepared statement's failure (see {@link PREPARED_FAILED}); after three, the
   * session prepares nothing more (a pooler in front that does not keep them), and says so once.
   */
  const preparedFailed = (error: unknown): boolean => {
    const code = codeOf(error);
    if (code === undefined || !PREPARED_FAILED.has(code)) return false;
    if (++preparedFailures === 3 && prepare) {
      prepare = false;
      logger.warn(
        `strata: prepared statements keep failing on this database (${code}); the store runs its statements unprepared from now on (set prepareStatements: false behind a pooler that does not keep them)`,
        { code },
      );
    }
    return true;
  };

  /** Clients held now, so that close() can drop those still held past its grace. */
  const out = new Set<{ drop(): void }>();

  /**
   * Checks out a client and holds it (its 'error' listener goes on inside pg-pool's callback, before a
   * server FATAL that arrived in the same read as the end of the checkout can be emitted), waiting at
   * most `connectionTimeoutMs`.
   */
  const acquire = (subject: ErrorSubject): Promise<Held> =>
    new Promise<Held>((resolve, reject) => {
      let gaveUp = false;
      const timedOut = (cause?: unknown) =>
        new StrataError(
          'TIMEOUT',
          `${describeSubject(subject)}: no database connection within ${connectionTimeoutMs} ms (pool: ${pool.totalCount} open, ${pool.idleCount} idle, ${pool.waitingCount} waiting): the database is unreachable or slow to accept connections, or every connection is busy (then raise the pool size or connectionTimeoutMs)`,
          cause === undefined ? {} : { cause: safeCause(cause) },
        );
      const timer = setTimeout(() => {
        gaveUp = true;
        reject(timedOut());
      }, connectionTimeoutMs);
      pool.connect((error, client, release) => {
        clearTimeout(timer);
        if (gaveUp) {
          // Whoever waited is gone: give the client straight back.
          if (client !== undefined) release();
          return;
        }
        if (error !== undefined || client === undefined) {
          const mapped = mapPgError(error, subject);
          if (mapped.code === 'CONNECTION') health.lost(subject.operation, codeOf(error));
          if (mapped.code !== 'TIMEOUT') return reject(mapped);
          // pg-pool's own connectionTimeoutMillis (the store's pool) fired first: the same timeout.
          gaveUp = true;
          return reject(timedOut(error));
        }
        resolve(hold(client, subject));
      });
    });

  /** Holds a checked-out client: listens for its errors until released, then destroys it if broken. */
  function hold(client: PooledClient, subject: ErrorSubject) {
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
      health.lost(subject.operation, codeOf(error));
    };
    client.on('error', onError);
    let released = false;
    const held = {
      client,
      get broken() {
        return broken;
      },
      /** Marks the connection broken when `error` says it must not be reused. */
      fail(error: unknown) {
        // A late answer leaves the client out of step with the server: never reuse it.
        if (error instanceof Deadline || isConnectionLoss(error) || isLateAnswer(error)) held.breakWith(error);
        // A prepared statement that failed before it ran (the server lost it, a pooler in front, a
        // changed column type): node-postgres would go on using its name, so this connection is not reused.
        const code = codeOf(error);
        if (code !== undefined && PREPARED_FAILED.has(code)) held.breakWith(error);
      },
      /** Marks the connection broken: it is destroyed on release instead of pooled. */
      breakWith(error: unknown) {
        broken ??= error instanceof Error ? error : new Error('connection unusable');
      },
      /** Runs one statement with a deadline; past it, destroys the socket so that nothing waits on it. */
      query(statement: string | QueryConfig, values: unknown[]): Promise<QueryResult> {
        return new Promise<QueryResult>((resolve, reject) => {
          let settled = false;
          const timer = setTimeout(() => {
            if (settled) return;
            settled = true;
            const late = new Deadline(statementTimeoutMs);
            held.breakWith(late);
            health.lost(subject.operation, 'statementTimeoutMs');
            client.connection?.stream?.destroy();
            reject(late);
          }, statementTimeoutMs);
          try {
            client.query(typeof statement === 'string' ? { text: statement } : statement, values, (error, result) => {
              clearTimeout(timer);
              if (settled) return;
              settled = true;
              if (error) reject(error);
              else resolve(result);
            });
          } catch (error) {
            clearTimeout(timer);
            settled = true;
            reject(error);
          }
        });
      },
      /** Drops the connection and gives it back at once (close() past its grace), whoever holds it. */
      drop() {
        held.breakWith(new Error('the store was closed'));
        client.connection?.stream?.destroy();
        held.release();
      },
      release() {
        if (released) return;
        released = true;
        out.delete(held);
        client.removeListener('error', onError);
        // A truthy argument makes pg-pool destroy the client instead of pooling it.
        client.release(broken ?? false);
      },
    };
    out.add(held);
    return held;
  }
  type Held = ReturnType<typeof hold>;

  /**
   * Maps a failure of one statement, turning a missed `statementTimeoutMs` into a lost connection (as
   * `mapPgError` does for node-postgres' own `query_timeout`): the statement may still run on the
   * server, so a write's outcome is unknown.
   */
  const failure = (error: unknown, subject: ErrorSubject, mayHaveApplied: boolean) => {
    if (error instanceof Deadline) {
      return new ConnectionError(
        `${describeSubject(subject)}: no answer from the database within ${error.ms} ms (statementTimeoutMs); the connection was dropped${mayHaveApplied ? '; the write may or may not have been applied' : ''}`,
        { outcomeUnknown: mayHaveApplied },
      );
    }
    return mapPgError(error, subject, { mayHaveApplied });
  };

  /** Whether a statement failed only because its pooled connection had died while it sat idle. */
  const diedIdle = (error: unknown) => isConnectionLoss(error) && !(error instanceof Deadline);

  const run = async <T>(subject: ErrorSubject, statement: SQL, attempt: number): Promise<T[]> => {
    const { sql, params } = dialect.sqlToQuery(statement);
    const reads = READS.has(subject.operation);
    const held = await acquire(subject);
    const sent = statementOf(held.client, subject, sql);
    try {
      const result = await held.query(sent, params);
      health.ok();
      return result.rows as T[];
    } catch (error) {
      held.fail(error);
      const mapped = failure(error, subject, !reads);
      // A read changed nothing, and neither did a prepared statement that failed before it ran: try
      // again at once on another connection (up to REPEATS tries).
      const repeatable = (reads && diedIdle(error)) || (typeof sent !== 'string' && preparedFailed(error));
      if (attempt < REPEATS && held.broken !== undefined && repeatable) {
        held.release();
        return run(subject, statement, attempt + 1);
      }
      throw mapped;
    } finally {
      held.release();
    }
  };

  /** Checks out a client and opens a transaction on it; a pooled client that died idle is replaced. */
  const begin = async (subject: ErrorSubject, attempt: number): Promise<Held> => {
    const held = await acquire(subject);
    try {
      await held.query('begin', []);
      return held;
    } catch (error) {
      held.fail(error);
      held.release();
      // Nothing has run in the transaction yet: a BEGIN lost with its connection is safe to repeat.
      if (attempt < REPEATS && diedIdle(error)) return begin(subject, attempt + 1);
      throw failure(error, subject, false);
    }
  };

  return {
    db,

    drop() {
      for (const held of [...out]) held.drop();
    },

    execute<T>(subject: ErrorSubject, statement: SQL): Promise<T[]> {
      return run<T>(subject, statement, 1);
    },

    async transaction<T>(subject: ErrorSubject, fn: (tx: PgExecutor) => Promise<T>): Promise<T> {
      const held = await begin(subject, 1);
      try {
        let failed: StrataError | undefined;
        let wrapped: AnyPgDatabase | undefined;
        let open = true;
        const savepoints: string[] = [];
        /**
         * The client the application's Drizzle statements run on: the transaction's connection, under the
         * same deadline, refused once the transaction settled, and with Drizzle's own BEGIN / COMMIT /
         * ROLLBACK (from `tx.db.transaction()`) turned into a savepoint, as on PGlite, instead of
         * committing Strata's transaction half way.
         */
        const appClient = {
          query(config: string | QueryConfig, values?: unknown): Promise<QueryResult> {
            const inner = { operation: 'transaction.db' };
            if (!open) return Promise.reject(new StoreClosedError('transaction.db', 'transaction'));
            const statement = typeof config === 'string' ? { text: config } : config;
            let text = statement.text;
            const verb = /^\s*(begin|start\s+transaction|commit|end|rollback|abort)\b/i.exec(text)?.[1]?.toLowerCase();
            if (verb !== undefined) {
              if (verb === 'begin' || verb.startsWith('start')) {
                savepoints.push(`strata_nested_${savepoints.length + 1}`);
                text = `savepoint ${savepoints.at(-1)}`;
              } else {
                const name = savepoints.pop();
                if (name === undefined) {
                  return Promise.reject(new ValidationError('tx.db', "cannot end Strata's transaction: it commits when the transaction's function resolves"));
                }
                text = verb === 'commit' || verb === 'end' ? `release savepoint ${name}` : `rollback to savepoint ${name}`;
              }
            }
            const params = Array.isArray(values) ? values : Array.isArray(statement.values) ? statement.values : [];
            // DEALLOCATE or DISCARD drops Strata's prepared statements with the application's: forget them.
            const drops = /^\s*(deallocate|discard)\b/i.test(text);
            return held.query({ ...statement, text }, params).then(
              (result) => {
                if (drops) forgetPrepared(held.client);
                return result;
              },
              (error: unknown) => {
                held.fail(error);
                // A lost connection or a missed deadline is the store's failure (CONNECTION), as for
                // Strata's own statements; the application's other errors reach it as the driver raised them.
                if (error instanceof Deadline || isConnectionLoss(error) || isLateAnswer(error)) {
                  const mapped = failure(error, inner, false);
                  failed ??= mapped;
                  throw mapped;
                }
                throw error;
              },
            );
          },
        };
        const tx: PgExecutor = {
          get db(): AnyPgDatabase {
            if (wrapClient === undefined) throw new StrataError('NOT_SUPPORTED', 'transaction.db: this store has no Drizzle driver for its pool');
            if (!open) throw new StoreClosedError('transaction.db', 'transaction');
            wrapped ??= wrapClient(appClient);
            return wrapped;
          },
          async execute<R>(inner: ErrorSubject, statement: SQL): Promise<R[]> {
            const { sql, params } = dialect.sqlToQuery(statement);
            try {
              return (await held.query(statementOf(held.client, inner, sql), params)).rows as R[];
            } catch (error) {
              held.fail(error);
              preparedFailed(error);
              // Inside a transaction nothing is applied until COMMIT: a lost connection rolls it back.
              const mapped = failure(error, inner, false);
              failed ??= mapped;
              throw mapped;
            }
          },
        };
        let result: T;
        try {
          result = await fn(tx);
          open = false;
        } catch (error) {
          open = false;
          if (held.broken === undefined) {
            try {
              await held.query('rollback', []);
            } catch (rollbackError) {
              // The original error is the one worth reporting; this connection is not reused.
              held.breakWith(rollbackError);
            }
          }
          throw error;
        }
        if (held.broken !== undefined) {
          // Lost while the application held the transaction open: the server rolled it back.
          throw new ConnectionError(`${describeSubject(subject)}: the database connection was lost before COMMIT; nothing was committed`, {
            cause: safeCause(held.broken),
          });
        }
        if (failed !== undefined) {
          // PostgreSQL aborts a transaction at its first failed statement and answers COMMIT with a
          // ROLLBACK: do not let a caught error turn into a silent loss of every write.
          await held.query('rollback', []).catch((e: unknown) => held.breakWith(e));
          throw failed;
        }
        let committed: { command?: string };
        try {
          committed = await held.query('commit', []);
        } catch (error) {
          held.fail(error);
          if (error instanceof Deadline || isLateAnswer(error) || isConnectionLoss(error)) {
            throw new ConnectionError(
              `${describeSubject(subject)}: the database connection was lost during COMMIT; the transaction may or may not have committed`,
              { cause: error instanceof Deadline ? undefined : safeCause(error), outcomeUnknown: true },
            );
          }
          throw mapPgError(error, subject);
        }
        if (committed.command === 'ROLLBACK') {
          throw new StrataError('INTERNAL', `${describeSubject(subject)}: PostgreSQL rolled the transaction back at COMMIT; nothing was committed`);
        }
        health.ok();
        return result;
      } finally {
        held.release();
      }
    },
  };
}

/**
 * A session that runs statements and transactions through Drizzle (PGlite, a single node-postgres
 * client, other drivers, a transaction the application opened), mapping every error, keeping the
 * original error of the transaction's function over a failing rollback, and refusing to commit a
 * transaction in which a statement failed.
 *
 * @param inTransaction - true when `db` is a transaction the application opened (`join`): nothing is
 *   applied before the application commits, so no error has an unknown outcome
 */
export function drizzleSession(db: AnyPgDatabase, options: Pick<PgSessionOptions, 'logger'>, inTransaction = false): PgSession {
  const health = new ConnectionHealth(options.logger);
  const executorOf = (target: AnyPgDatabase, autocommit: boolean, onFailure?: (error: StrataError) => void): PgExecutor => ({
    db: target,
    async execute<T>(subject: ErrorSubject, statement: SQL): Promise<T[]> {
      try {
        const rows = rowsOf<T>(await target.execute(statement));
        if (autocommit) health.ok();
        return rows;
      } catch (error) {
        if (isConnectionLoss(error)) health.lost(subject.operation, codeOf(error));
        const mapped = mapPgError(error, subject, { mayHaveApplied: autocommit && !READS.has(subject.operation) });
        onFailure?.(mapped);
        throw mapped;
      }
    },
  });
  return {
    ...executorOf(db, !inTransaction),
    drop: () => undefined,
    async transaction<T>(subject: ErrorSubject, fn: (tx: PgExecutor) => Promise<T>): Promise<T> {
      let failure: { error: unknown } | undefined;
      let failed: StrataError | undefined;
      let settled = false;
      try {
        const result = await db.transaction(async (tx) => {
          try {
            const value = await fn(
              executorOf(tx as AnyPgDatabase, false, (e) => {
                failed ??= e;
              }),
            );
            // The driver would answer COMMIT with a ROLLBACK; fail with the statement's error instead.
            if (failed !== undefined) throw failed;
            return value;
          } catch (error) {
            failure = { error };
            throw error;
          } finally {
            settled = true;
          }
        });
        health.ok();
        return result;
      } catch (error) {
        // The function's own error wins over whatever the rollback raised after it.
        if (failure !== undefined) throw failure.error;
        if (isConnectionLoss(error)) health.lost(subject.operation, codeOf(error));
        // Failing after the function returned means failing at COMMIT.
        throw mapPgError(error, subject, { mayHaveApplied: settled });
      }
    },
  };
}
