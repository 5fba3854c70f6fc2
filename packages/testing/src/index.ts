/**
 * Strata in your tests: an isolated, migrated store per test in milliseconds, on any adapter, and a
 * real PostgreSQL server without Docker.
 *
 * - `@strata/testing/pglite`, `/postgres`, `/sqlite`, `/memory`: {@link TestStores} sources for each adapter,
 *   as plain functions for any test runner.
 * - `@strata/testing/vitest`: `storeTest()` and `describeStores()`, vitest fixtures over them.
 * - `@strata/testing/global-setup`: a vitest global setup that starts one PostgreSQL server per run.
 * - This entry: {@link testStores} (a source by adapter name), {@link startPostgres} and
 *   {@link createTestDatabase} (the server and a database per file), and tools for connection-loss tests.
 *
 * @example
 * ```ts
 * import { testStores } from '@strata/testing'
 *
 * const stores = testStores('sqlite')
 * const store = await stores.fresh()
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }])
 * await stores.close()
 * ```
 *
 * @packageDocumentation
 */
export { type TestStoresOptions, testStores } from './by-name.js';
// The server tools (`@strata/testing/server`), and the type of `inject('strataPostgresUrl')` for tests that
// take the global setup's server themselves.
export * from './server-tools.js';
export type { AdapterName, TestStores } from './stores.js';
