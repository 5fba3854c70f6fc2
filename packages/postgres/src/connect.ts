import { validateInteger } from '@strata/core';
import { checkConnectionString } from './connection-string.js';
import type { AnyPgDatabase } from './migrate.js';
import { poolOf } from './session.js';
import { checkDatabase, openPostgresStore, type PoolSupport, type PostgresStore, type PostgresStoreOptions, resolveStoreOptions } from './store.js';

/**
 * Creates a Strata store on PostgreSQL, from a connection string (the store opens and closes its own
 * node-postgres pool) or from a Drizzle database the application owns (node-postgres, PGlite, …; the
 * store never closes it). Applies the shipped migrations unless `migrate: false`.
 *
 * This is the only function that loads node-postgres (`pg`), and only when it needs it; code meant for
 * browsers (PGlite) imports `createDrizzleStore` from `@strata/postgres/drizzle` instead, which never
 * references `pg`.
 *
 * @example
 * ```ts
 * const store = await createPostgresStore(process.env.DATABASE_URL!)
 * const same = await createPostgresStore(drizzle(pool), { schema: 'billing' })
 * ```
 * @throws `VALIDATION` on bad options or a connection that is neither a PostgreSQL URL (see
 *   {@link checkConnectionString}) nor a Drizzle database (an unset environment variable: `undefined`);
 *   `CONNECTION` when the database cannot be reached
 */
export async function createPostgresStore(connection: string | AnyPgDatabase, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const resolved = resolveStoreOptions(options);
  const { connectionTimeoutMs, logger } = resolved;
  let db: AnyPgDatabase;
  const support: PoolSupport = {};
  if (typeof connection === 'string') {
    const connectionString = checkConnectionString(connection);
    const poolSize = validateInteger(options.poolSize ?? 10, 'options.poolSize', 1, 1000);
    const [{ default: pg }, { drizzle }] = await Promise.all([import('pg'), import('drizzle-orm/node-postgres')]);
    const pool = new pg.Pool({
      connectionString,
      max: poolSize,
      connectionTimeoutMillis: connectionTimeoutMs,
      // Notice a peer that vanished without closing the socket (a dead host, a dropped route).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle client losing its connection must not crash the process: the pool drops it and opens
    // another when needed (a call that fails says so at warn).
    pool.on('error', (error: Error & { code?: string }) => {
      logger.debug('strata: an idle pooled connection was lost; the pool replaces it', { code: error.code });
    });
    db = drizzle(pool) as unknown as AnyPgDatabase;
    support.release = () => pool.end();
  } else {
    checkDatabase(connection, 'a PostgreSQL connection URL or a Drizzle database');
    db = connection;
  }
  // Inside a transaction on a node-postgres pool, `tx.db` is a Drizzle database on its client.
  if (poolOf(db) !== undefined) {
    support.wrapClient = await import('drizzle-orm/node-postgres').then(({ drizzle, NodePgDatabase, NodePgDriver }) => (client: unknown): AnyPgDatabase => {
      // The application's database's dialect (its casing) and relational schema, on the transaction's
      // connection, so that tx.db behaves as store.db does.
      const source = db as unknown as { dialect?: unknown; _?: { schema?: unknown; fullSchema?: unknown; tableNamesMap?: unknown } };
      if (source.dialect === undefined || source._ === undefined) return drizzle({ client: client as never }) as unknown as AnyPgDatabase;
      const schema =
        source._.schema === undefined ? undefined : { fullSchema: source._.fullSchema, schema: source._.schema, tableNamesMap: source._.tableNamesMap };
      const session = new NodePgDriver(client as never, source.dialect as never, {}).createSession(schema as never);
      return new NodePgDatabase(source.dialect as never, session, schema as never) as unknown as AnyPgDatabase;
    });
  }
  return openPostgresStore(db, resolved, support);
}
