import { ConnectionError, ConnectionHealth, describeSubject, type ErrorSubject, StrataError, type StrataLogger } from '@strata/core';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { isConnectionLoss, mapPgError } from './map-pg-error.js';
import type { AnyPgDatabase } from './migrate.js';
import { rowsOf } from './rows.js';

/** Runs statements and maps their errors: on the store's connections, or inside one transaction. */
export interface PgExecutor {
  /** Runs `query` and returns its rows; failures are {@link StrataError}s naming `subject`. */
  execute<T>(subject: ErrorSubject, query: SQL): Promise<T[]>;
}

/** The store's way to the database: statements, and transactions that own their connection. */
export interface PgSession extends PgExecutor {
  /**
   * Runs `fn` in a transaction. The original error of `fn` wins over a failing `ROLLBACK`; a
   * connection lost during `COMMIT` is a `CONNECTION` error with `outcomeUnknown`.
   */
  transaction<T>(subject: ErrorSubject, fn: (tx: PgExecutor) => Promise<T>): Promise<T>;
}

/** What a session needs besides the database. */
export interface PgSessionOptions {
  /** Longest wait for a pooled connection, in ms. */
  connectionTimeoutMs: number;
  /** Where connection losses and recoveries are reported. */
  logger: StrataLogger;
}

/** The parts of a node-postgres (pg-pool) client that the session uses. */
interface PooledClient {
  query(config: { text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  release(destroy?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** The parts of a node-postgres (pg-pool) pool that the session uses. */
interface Pool {
  connect(): Promise<PooledClient>;
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
  return pool === undefined ? drizzleSession(db, options) : poolSession(pool, options);
}

const dialect = new PgDialect();

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * A session over a node-postgres pool that does not trust the driver with connection lifecycles:
 * every checked-out client has an `'error'` listener until it is released (pg-pool removes its own
 * while a client is out, so a backend dying between two statements of a transaction would otherwise
 * be an uncaught `'error'` event); a client is always released, and destroyed when its connection is
 * broken, whatever fails — `BEGIN`, a statement, `COMMIT`, `ROLLBACK`; and acquiring a client is
 * bounded by `connectionTimeoutMs`.
 */
export function poolSession(pool: Pool, options: PgSessionOptions): PgSession {
  const { connectionTimeoutMs, logger } = options;
  const losses = new ConnectionHealth(logger);

  const acquire = async (subject: ErrorSubject): Promise<PooledClient> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pending = pool.connect();
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), connectionTimeoutMs);
    });
    try {
      const client = await Promise.race([pending, timedOut]);
      if (client !== 'timeout') return client;
    } catch (error) {
      const mapped = mapPgError(error, subject);
      if (mapped.code === 'CONNECTION') losses.lost(subject.operation, codeOf(error));
      if (mapped.code !== 'TIMEOUT') throw mapped;
    } finally {
      clearTimeout(timer);
    }
    // Whoever gets the client later gives it straight back.
    pending.then(
      (late) => late.release(),
      () => undefined,
    );
    throw new StrataError(
      'TIMEOUT',
      `${describeSubject(subject)}: no database connection within ${connectionTimeoutMs} ms (pool: ${pool.totalCount} open, ${pool.idleCount} idle, ${pool.waitingCount} waiting); raise connectionTimeoutMs or the pool size`,
    );
  };

  /** Holds a checked-out client: listens for its errors until released, then destroys it if broken. */
  const hold = (client: PooledClient, subject: ErrorSubject) => {
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
      losses.lost(subject.operation, codeOf(error));
    };
    client.on('error', onError);
    let released = false;
    return {
      get broken() {
        return broken;
      },
      /** Marks the connection broken when `error` says it is lost. */
      fail(error: unknown) {
        if (isConnectionLoss(error)) this.breakWith(error);
      },
      /** Marks the connection broken: it is destroyed on release instead of pooled. */
      breakWith(error: unknown) {
        broken ??= error instanceof Error ? error : new Error('connection unusable');
      },
      release() {
        if (released) return;
        released = true;
        client.removeListener('error', onError);
        // A truthy argument makes pg-pool destroy the client instead of pooling it.
        client.release(broken ?? false);
      },
    };
  };

  const query = async <T>(client: PooledClient, query: SQL): Promise<T[]> => {
    const { sql, params } = dialect.sqlToQuery(query);
    const result = await client.query({ text: sql, values: params });
    return result.rows as T[];
  };

  return {
    async execute<T>(subject: ErrorSubject, statement: SQL): Promise<T[]> {
      const client = await acquire(subject);
      const held = hold(client, subject);
      try {
        const rows = await query<T>(client, statement);
        losses.ok();
        return rows;
      } catch (error) {
        held.fail(error);
        if (held.broken !== undefined) losses.lost(subject.operation, codeOf(error));
        throw mapPgError(error, subject, { mayHaveApplied: true });
      } finally {
        held.release();
      }
    },

    async transaction<T>(subject: ErrorSubject, fn: (tx: PgExecutor) => Promise<T>): Promise<T> {
      const client = await acquire(subject);
      const held = hold(client, subject);
      try {
        try {
          await client.query({ text: 'begin', values: [] });
        } catch (error) {
          held.fail(error);
          throw mapPgError(error, subject);
        }
        const tx: PgExecutor = {
          async execute<R>(inner: ErrorSubject, statement: SQL): Promise<R[]> {
            try {
              return await query<R>(client, statement);
            } catch (error) {
              held.fail(error);
              // Inside a transaction nothing is applied until COMMIT: a lost connection rolls it back.
              throw mapPgError(error, inner);
            }
          },
        };
        let result: T;
        try {
          result = await fn(tx);
        } catch (error) {
          if (held.broken === undefined) {
            try {
              await client.query({ text: 'rollback', values: [] });
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
            cause: held.broken,
          });
        }
        try {
          await client.query({ text: 'commit', values: [] });
        } catch (error) {
          held.fail(error);
          if (isConnectionLoss(error)) {
            throw new ConnectionError(
              `${describeSubject(subject)}: the database connection was lost during COMMIT; the transaction may or may not have committed`,
              { cause: error, outcomeUnknown: true },
            );
          }
          throw mapPgError(error, subject);
        }
        losses.ok();
        return result;
      } finally {
        held.release();
      }
    },
  };
}

/**
 * A session that runs statements and transactions through Drizzle (PGlite, a single node-postgres
 * client, other drivers), mapping every error and keeping the original error of the transaction's
 * function over a failing rollback.
 */
export function drizzleSession(db: AnyPgDatabase, options: Pick<PgSessionOptions, 'logger'>): PgSession {
  const losses = new ConnectionHealth(options.logger);
  const executorOf = (target: AnyPgDatabase, mayHaveApplied: boolean): PgExecutor => ({
    async execute<T>(subject: ErrorSubject, statement: SQL): Promise<T[]> {
      try {
        const rows = rowsOf<T>(await target.execute(statement));
        if (mayHaveApplied) losses.ok();
        return rows;
      } catch (error) {
        if (isConnectionLoss(error)) losses.lost(subject.operation, codeOf(error));
        throw mapPgError(error, subject, { mayHaveApplied });
      }
    },
  });
  return {
    ...executorOf(db, true),
    async transaction<T>(subject: ErrorSubject, fn: (tx: PgExecutor) => Promise<T>): Promise<T> {
      let failure: { error: unknown } | undefined;
      let settled = false;
      try {
        const result = await db.transaction(async (tx) => {
          try {
            return await fn(executorOf(tx as AnyPgDatabase, false));
          } catch (error) {
            failure = { error };
            throw error;
          } finally {
            settled = true;
          }
        });
        losses.ok();
        return result;
      } catch (error) {
        // The function's own error wins over whatever the rollback raised after it.
        if (failure !== undefined) throw failure.error;
        if (isConnectionLoss(error)) losses.lost(subject.operation, codeOf(error));
        // Failing after the function returned means failing at COMMIT.
        throw mapPgError(error, subject, { mayHaveApplied: settled });
      }
    },
  };
}
