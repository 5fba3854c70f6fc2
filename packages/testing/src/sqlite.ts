/**
 * Fresh SQLite stores for tests: an in-memory database per store (a file per store with `files: true`,
 * which siblings need), migrated on open.
 *
 * @example
 * ```ts
 * import { sqliteStores } from '@strata/testing/sqlite'
 *
 * const stores = sqliteStores()
 * const store = await stores.fresh()
 * await store.checkpoints.set('projector', 7)
 * await stores.close()
 * ```
 *
 * @packageDocumentation
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from '@strata/sqlite';
import { leasedStores } from './leases.js';
import type { TestStores } from './stores.js';

/** Store options a test may set on a SQLite test store. */
export type SqliteTestStoreOptions = Omit<SqliteStoreOptions, 'migrate'>;

/** Options of {@link sqliteStores}. */
export interface SqliteStoresOptions {
  /**
   * A file per store, in a temporary directory the source deletes on `close()`, instead of a private
   * in-memory database. Needed for siblings (a second connection to the same database) and for anything
   * that depends on a file: WAL mode, other processes. @defaultValue false
   */
  files?: boolean;
}

/**
 * A source of isolated SQLite stores: each is a new in-memory database (about a millisecond to open and
 * migrate), or a new file in a temporary directory with `files: true`, deleted when the store is closed.
 *
 * @throws from `sibling()`: `NOT_SUPPORTED` unless `files: true` (a private in-memory database has one connection)
 */
export function sqliteStores(options: SqliteStoresOptions = {}): TestStores<SqliteStore, SqliteTestStoreOptions> {
  let dir: string | undefined;
  let n = 0;
  const files = options.files === true;
  return leasedStores<SqliteStore, SqliteTestStoreOptions, string>({
    adapter: 'sqlite',
    async open(storeOptions) {
      if (!files) return { store: await createSqliteStore(':memory:', storeOptions), handle: ':memory:' };
      dir ??= mkdtempSync(join(tmpdir(), 'strata-test-sqlite-'));
      const file = join(dir, `store-${++n}.db`);
      return { store: await createSqliteStore(file, storeOptions), handle: file };
    },
    noSiblings: ' in memory: use sqliteStores({ files: true }) (or testStores("sqlite", { sqliteFiles: true })) for a file per store',
    ...(files ? { sibling: (file: string, storeOptions: SqliteTestStoreOptions | undefined) => createSqliteStore(file, storeOptions) } : {}),
    async release(file) {
      if (file === ':memory:') return;
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    },
    async shutdown() {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  });
}
