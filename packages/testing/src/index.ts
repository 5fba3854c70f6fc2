/**
 * Test fixtures for Strata's own packages (private): a real PostgreSQL server per test run, a
 * database per test file, and the tools of the connection-loss tests (a TCP proxy that cuts
 * connections, backend kills, server restarts).
 *
 * @packageDocumentation
 */
export { type ChaosProxy, type LogLine, recordingLogger, sleep, startChaosProxy, terminateBackends, waitFor } from './chaos.js';
export { createTestDatabase, type TestDatabase, withDatabase } from './database.js';
export type {} from './provided.js';
export { type StartPostgresOptions, startPostgres, type TestServer } from './server.js';
