/**
 * Vitest fixtures for Strata: `test.extend` with a `store` per test — isolated, migrated, empty, and
 * closed after the test — from any adapter, so one test file can run against each of them.
 *
 * @example
 * ```ts
 * import { storeTest } from '@strata/testing/vitest'
 * import { expect } from 'vitest'
 *
 * const test = storeTest('pglite')
 *
 * test('places an order', async ({ store }) => {
 *   await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }])
 *   expect((await store.events.streamInfo('order-1'))?.version).toBe(1)
 * })
 * ```
 *
 * @packageDocumentation
 */
import type { MemoryStoreOptions, StrataStore } from '@strata/core';
import type { PgliteStore } from '@strata/pglite';
import type { PostgresStore } from '@strata/postgres';
import type { SqliteStore } from '@strata/sqlite';
import { afterAll, beforeAll, describe, inject, type TestAPI, test } from 'vitest';
import { testStores } from './by-name.js';
import type { PgliteTestStoreOptions } from './pglite.js';
import type { PostgresTestStoreOptions } from './postgres.js';
import type { SqliteTestStoreOptions } from './sqlite.js';

export type {} from './provided.js';

import type { AdapterName, TestStores } from './stores.js';

/** What {@link storeTest} adds to each test's context. */
export interface StoreFixtures<S extends StrataStore = StrataStore, O = object> {
  /** An isolated, migrated, empty store of this test's own, closed (and its data reset) after it. */
  store: S;
  /**
   * The source of the test's stores: for a second store (`stores.fresh()`) or a sibling
   * (`stores.sibling(store)`), also closed after the test. It has no `close()`: it belongs to the file.
   */
  stores: Omit<TestStores<S, O>, 'close'>;
}

/** How long the source may take to get ready (boot PGlite, start a server) in the `beforeAll` hook. */
const READY_TIMEOUT_MS = 120_000;

/**
 * A vitest `test` whose context has a fresh `store` (and its `stores` source). The source is made for
 * the file (or the `describe` block) that calls `storeTest`: it gets ready in a `beforeAll` hook (so
 * booting PGlite or starting PostgreSQL is not charged to the first test's timeout) and is closed in
 * `afterAll`. Stores a test opens through `stores.fresh()` are closed after it too.
 *
 * For PostgreSQL, the server is the one `@strata/testing/global-setup` started (when it is in the
 * config's `globalSetup`), else `DATABASE_URL`, else an embedded server of the file's own.
 *
 * @param source - an adapter's name (the store then has the adapter's type: `store.pglite` on PGlite…), or
 *   a function making a source (`() => pgliteStores({ … })`) for options of the source itself
 */
export function storeTest(source: 'pglite'): TestAPI<StoreFixtures<PgliteStore, PgliteTestStoreOptions>>;
export function storeTest(source: 'postgres'): TestAPI<StoreFixtures<PostgresStore, PostgresTestStoreOptions>>;
export function storeTest(source: 'sqlite'): TestAPI<StoreFixtures<SqliteStore, SqliteTestStoreOptions>>;
export function storeTest(source: 'memory'): TestAPI<StoreFixtures<StrataStore, MemoryStoreOptions>>;
export function storeTest(source: AdapterName): TestAPI<StoreFixtures>;
export function storeTest<S extends StrataStore, O>(source: () => TestStores<S, O>): TestAPI<StoreFixtures<S, O>>;
export function storeTest(source: AdapterName | (() => TestStores<StrataStore, object>)): unknown {
  const stores: TestStores<StrataStore, object> = typeof source === 'function' ? source() : byName(source);
  beforeAll(() => stores.ready(), READY_TIMEOUT_MS);
  afterAll(() => stores.close(), READY_TIMEOUT_MS);
  return (
    test
      // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern, and it must be an object
      .extend('stores', async ({}, { onCleanup }) => {
        const opened: StrataStore[] = [];
        onCleanup(async () => {
          await Promise.all(opened.map((s) => s.close()));
        });
        return new Proxy<Omit<TestStores<StrataStore, object>, 'close'>>(stores, {
          get(target, key) {
            if (key === 'fresh') {
              return async (options?: object) => {
                const store = await target.fresh(options);
                opened.push(store);
                return store;
              };
            }
            // The source belongs to the whole file: a test closing it would break the tests after it.
            if (key === 'close') return undefined;
            const value = Reflect.get(target, key);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      })
      .extend('store', async ({ stores: own }) => own.fresh()) as unknown as TestAPI<StoreFixtures>
  );
}

/**
 * Runs the same tests against each adapter named, one `describe` block per adapter:
 *
 * ```ts
 * describeStores(['memory', 'sqlite', 'pglite'], (test) => {
 *   test('appends', async ({ store }) => { … })
 * })
 * ```
 */
export function describeStores(adapters: readonly AdapterName[], body: (test: TestAPI<StoreFixtures>, adapter: AdapterName) => void): void {
  for (const adapter of adapters) {
    describe(adapter, () => {
      body(storeTest(adapter), adapter);
    });
  }
}

function byName(adapter: AdapterName): TestStores<StrataStore, object> {
  const url = adapter === 'postgres' ? (inject('strataPostgresUrl') as string | undefined) : undefined;
  return testStores(adapter, url === undefined ? {} : { postgresUrl: url });
}
