/**
 * Fresh in-memory stores for tests, in the same shape as the other adapters' test stores, so a test file
 * can run against each of them.
 *
 * @example
 * ```ts
 * import { memoryStores } from '@strata/testing/memory'
 *
 * const stores = memoryStores()
 * const store = await stores.fresh({ readPageSize: 2 })
 * await stores.close()
 * ```
 *
 * @packageDocumentation
 */
import { createMemoryStore, type MemoryStoreOptions, type StrataStore } from '@strata/core';
import { leasedStores } from './leases.js';
import type { TestStores } from './stores.js';

/**
 * A source of in-memory stores (`createMemoryStore()`), one per `fresh()`.
 *
 * @throws from `sibling()`: `NOT_SUPPORTED` (a memory store's data belongs to its object)
 */
export function memoryStores(): TestStores<StrataStore, MemoryStoreOptions> {
  return leasedStores<StrataStore, MemoryStoreOptions, undefined>({
    adapter: 'memory',
    noSiblings: ' (its data belongs to its object): test two stores on SQLite files, PGlite or PostgreSQL',
    async open(options) {
      return { store: createMemoryStore(options), handle: undefined };
    },
  });
}
