import type { TestProject } from 'vitest/node';

export type {} from './provided.js';

import { startPostgres } from './server.js';

/**
 * Vitest global setup: starts one real PostgreSQL server for the project's run (or uses
 * `DATABASE_URL`) and hands its URL to test files through `inject('strataPostgresUrl')`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('strataPostgresUrl', server.url);
  return () => server.stop();
}
