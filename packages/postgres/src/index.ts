/**
 * The PostgreSQL dialect of Strata, on Drizzle ORM: every core contract — event store, message queue,
 * snapshots, checkpoints, transactions — in one implementation typed against Drizzle's `PgDatabase`,
 * so that it runs on node-postgres and, through `@strata/pglite`, on PGlite.
 *
 * @example
 * ```ts
 * import { createPostgresStore } from '@strata/postgres'
 *
 * const store = await createPostgresStore('postgres://localhost/app')
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * ```
 *
 * @packageDocumentation
 */
export type { ErrorSubject } from '@strata/core';
export { contentHash as migrationHash } from '@strata/core';
export { createPostgresStore } from './connect.js';
export { checkConnectionString } from './connection-string.js';
export { createDrizzleStore } from './drizzle.js';
export { isConnectionLoss, type MapPgErrorOptions, mapPgError, safeCause } from './map-pg-error.js';
export { type AnyPgDatabase, type MigrateOptions, type MigrateResult, migrate, validateSchemaName } from './migrate.js';
export { MIGRATIONS, type ShippedMigration } from './migrations.generated.js';
export {
  type EventsNotification,
  LISTENER_TTL_MS,
  listenerRegistrationSql,
  listenerUnregistrationSql,
  type NotificationChannels,
  notificationChannels,
  parseEventsNotification,
  parseQueueNotification,
  type QueueNotification,
} from './notify.js';
export { rowsOf } from './rows.js';
export type { PostgresRowCounts, PostgresStore, PostgresStoreOptions } from './store.js';
