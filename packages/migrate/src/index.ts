/**
 * Moves a Strata deployment from SQLite to PostgreSQL (or PGlite) with nothing lost, through the
 * adapters' transfer contract: events keep their ids, versions, positions and timestamps, queue
 * messages their state, consumers their checkpoints. Resumable, idempotent and verified. The same
 * moves are available from the command line as `strata-migrate`.
 *
 * @example
 * ```ts
 * import { migrate, verifyMigration } from '@strata/migrate'
 *
 * const report = await migrate({ from: './app.db', to: 'postgres://localhost/app' })
 * const check = await verifyMigration({ from: './app.db', to: 'postgres://localhost/app' })
 * console.log(report.written.event, check.ok)
 * ```
 *
 * @packageDocumentation
 */
export type { MigrationSource, MigrationTarget } from './endpoints.js';
export { type MigrateOptions, type MigrationProgress, type MigrationReport, migrate } from './migrate.js';
export {
  type RecordMismatch,
  type SideCounts,
  type VerificationReport,
  type VerifyMigrationOptions,
  type VerifyStoresOptions,
  verifyMigration,
  verifyStores,
} from './verify.js';
