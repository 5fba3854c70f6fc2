/**
 * A real PostgreSQL server for tests without Docker, a database per test file, and tools for
 * connection-loss tests. This entry loads no Strata adapter: it is what a test of an adapter itself (or
 * of any code on PostgreSQL) needs.
 *
 * @example
 * ```ts
 * import { createTestDatabase, startPostgres } from '@strata/testing/server'
 *
 * const server = await startPostgres() // DATABASE_URL, or an embedded server
 * const database = await createTestDatabase(server.url)
 * // … connect to database.url …
 * await database.drop()
 * await server.stop()
 * ```
 *
 * @packageDocumentation
 */
export {
  type ChaosProxy,
  type LogFn,
  type LogLine,
  type RecordingLogger,
  recordingLogger,
  sleep,
  startChaosProxy,
  terminateBackends,
  waitFor,
} from './chaos.js';
export { createTestDatabase, type TestDatabase, withDatabase } from './database.js';
export type {} from './provided.js';
export { type StartPostgresOptions, startPostgres, type TestServer } from './server.js';
