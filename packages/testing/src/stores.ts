import type { StrataStore } from '@strata/core';

/** The adapters the testing package makes stores for. */
export type AdapterName = 'memory' | 'sqlite' | 'pglite' | 'postgres';

/**
 * Isolated, migrated stores for tests, from one adapter. The expensive part (booting PGlite, starting
 * or reaching a PostgreSQL server, creating a database) happens once, at the first {@link TestStores.fresh}
 * call; each later store costs milliseconds.
 *
 * A store is isolated from every other store the same source handed out: it starts empty, and nothing
 * it writes is seen by the next one. Closing it gives its database (or schema) back for reuse; closing
 * the source closes every store still open and stops what the source started.
 *
 * @typeParam S - the adapter's store type
 * @typeParam O - the store options a test may set (page sizes, timeouts, limits…)
 */
export interface TestStores<S extends StrataStore = StrataStore, O = object> {
  /** Which adapter the stores come from. */
  readonly adapter: AdapterName;
  /**
   * Does the expensive part now (boots PGlite, reaches or starts the server and creates the database),
   * so that it can run in a hook with a long timeout rather than inside the first test. Optional:
   * `fresh()` does it too.
   */
  ready(): Promise<void>;
  /**
   * An empty, migrated store of the calling test's own.
   *
   * @param options - the adapter's store options; where the store's data lives is the source's choice
   * @throws `CLOSED` after {@link TestStores.close}
   */
  fresh(options?: O): Promise<S>;
  /**
   * A second store on the same data as `store` (another connection, or another store object on the same
   * instance), as a second process of the application would open it: for tests of what two stores see
   * of each other. Closed with `store`.
   *
   * @throws `NOT_SUPPORTED` where the adapter's data cannot be shared (the memory adapter, SQLite in memory)
   */
  sibling(store: S, options?: O): Promise<S>;
  /** Closes every store still open and stops what the source started (PGlite, a server, a database). Idempotent. */
  close(): Promise<void>;
}
