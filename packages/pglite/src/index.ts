/**
 * Strata on PGlite: PostgreSQL compiled to WebAssembly, running in process. This package only builds
 * the PGlite instance and hands it to `@strata/postgres`; every query is the Postgres dialect's own, so
 * what passes here passes on a PostgreSQL server. Use it in tests (no server, no Docker), demos and the
 * browser.
 *
 * @example
 * ```ts
 * import { createPgliteStore } from '@strata/pglite'
 *
 * const store = await createPgliteStore() // in memory; pass { dataDir: './data' } to persist
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }])
 * ```
 *
 * @packageDocumentation
 */
import { PGlite } from '@electric-sql/pglite';
import { type AnyPgDatabase, createPostgresStore, type PostgresStore, type PostgresStoreOptions } from '@strata/postgres';
import { drizzle } from 'drizzle-orm/pglite';

/** Options of {@link createPgliteStore}. */
export interface PgliteStoreOptions extends Omit<PostgresStoreOptions, 'poolSize' | 'connectionTimeoutMs' | 'statementTimeoutMs'> {
  /**
   * Where PGlite keeps its data: `'memory://'`, a directory path (Node.js), or `'idb://name'`
   * (browsers). Ignored when `pglite` is given. @defaultValue `'memory://'`
   */
  dataDir?: string;
  /** A PGlite instance the application owns; the store then never closes it. */
  pglite?: PGlite;
}

/** A Strata store on PGlite. */
export interface PgliteStore extends PostgresStore {
  /** The PGlite instance underneath. */
  readonly pglite: PGlite;
}

/**
 * Creates a Strata store on PGlite: builds the instance (in memory unless `dataDir` says otherwise)
 * or takes the one given, applies the shipped migrations, and returns the Postgres dialect's store.
 * Closing the store closes the instance it built.
 *
 * PGlite is one connection: a transaction holds it, so other calls on the same instance wait for the
 * transaction to finish instead of running beside it.
 *
 * @throws `VALIDATION` on bad options
 */
export async function createPgliteStore(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
  const { dataDir, pglite, ...storeOptions } = options;
  const owned = pglite === undefined;
  const client = pglite ?? (await PGlite.create(dataDir ?? 'memory://'));
  let store: PostgresStore;
  try {
    store = await createPostgresStore(drizzle(client) as unknown as AnyPgDatabase, storeOptions);
  } catch (error) {
    if (owned) await client.close();
    throw error;
  }
  return {
    ...store,
    pglite: client,
    async close() {
      await store.close();
      if (owned && !client.closed) await client.close();
    },
  };
}
