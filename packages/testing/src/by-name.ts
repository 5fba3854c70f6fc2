import type { StrataStore } from '@strata/core';
import type { AdapterName, TestStores } from './stores.js';

/** Options of {@link testStores}, for the adapters that take any. */
export interface TestStoresOptions {
  /** PostgreSQL: the server's superuser connection string (else `DATABASE_URL`, else an embedded server). */
  postgresUrl?: string;
  /** SQLite: a file per store instead of an in-memory database (siblings need it). @defaultValue false */
  sqliteFiles?: boolean;
}

const adapters: readonly AdapterName[] = ['memory', 'sqlite', 'pglite', 'postgres'];

/**
 * Test stores of the adapter named, for code that runs the same tests against several adapters. The
 * adapter's module (and its driver) is loaded at the first call that needs it, so only the adapters a
 * run names need to be installed. Stores are typed as {@link StrataStore}; import the adapter's own
 * entry (`@strata/testing/pglite`…) for its store type.
 *
 * @throws `Error` (synchronously) for a name that is not an adapter
 */
export function testStores(adapter: AdapterName, options: TestStoresOptions = {}): TestStores<StrataStore, Record<string, unknown>> {
  if (!adapters.includes(adapter)) throw new Error(`testStores: unknown adapter ${JSON.stringify(adapter)}; expected one of ${adapters.join(', ')}`);
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
  const get = () => {
    loaded ??= load();
    return loaded;
  };
  return {
    adapter,
    ready: async () => (await get()).ready(),
    fresh: async (storeOptions) => (await get()).fresh(storeOptions),
    sibling: async (store, storeOptions) => (await get()).sibling(store, storeOptions),
    close: async () => {
      if (loaded !== undefined) await (await loaded).close();
    },
  };
}
