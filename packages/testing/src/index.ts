/**
 * Test fixtures for Strata's own packages (private): a real PostgreSQL server per test run and a
 * database per test file.
 *
 * @packageDocumentation
 */
export { createTestDatabase, type TestDatabase, withDatabase } from './database.js';
export { type StartPostgresOptions, startPostgres, type TestServer } from './server.js';
export type {} from './provided.js';
