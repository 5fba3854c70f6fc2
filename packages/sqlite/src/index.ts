/**
 * The SQLite dialect of Strata, on Drizzle ORM and better-sqlite3: every core contract — event store,
 * message queue, snapshots, checkpoints, transactions — in one file or in memory, safe when several
 * processes share the file.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from '@strata/sqlite'
 *
 * const store = await createSqliteStore('./app.db')
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * ```
 *
 * @packageDocumentation
 */
export type { ErrorSubject } from '@strata/core';
export { contentHash as migrationHash } from '@strata/core';
export { isSqliteConnectionLoss, mapSqliteError } from './map-sqlite-error.js';
export { type MigrateResult, migrate } from './migrate.js';
export { MIGRATIONS, type ShippedMigration } from './migrations.generated.js';
export {
  type AnySqliteDatabase,
  createSqliteStore,
  type SqliteRowCounts,
  type SqliteStore,
  type SqliteStoreOptions,
} from './store.js';
