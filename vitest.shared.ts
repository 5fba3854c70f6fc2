import { fileURLToPath } from 'node:url';
import type { UserWorkspaceConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Workspace packages resolve to their TypeScript sources in tests, so `pnpm test` needs no build.
 * Exact-match patterns keep `@strata/core` from swallowing `@strata/core/conformance`.
 */
export const sourceAliases = [
  { find: /^@strata\/core\/conformance\/check$/, replacement: `${root}packages/core/src/conformance/check.ts` },
  { find: /^@strata\/core\/otel$/, replacement: `${root}packages/core/src/otel/index.ts` },
  { find: /^@strata\/core\/conformance$/, replacement: `${root}packages/core/src/conformance/index.ts` },
  { find: /^@strata\/core$/, replacement: `${root}packages/core/src/index.ts` },
  { find: /^@strata\/postgres\/drizzle$/, replacement: `${root}packages/postgres/src/drizzle.ts` },
  { find: /^@strata\/postgres$/, replacement: `${root}packages/postgres/src/index.ts` },
  { find: /^@strata\/pglite$/, replacement: `${root}packages/pglite/src/index.ts` },
  { find: /^@strata\/sqlite$/, replacement: `${root}packages/sqlite/src/index.ts` },
  { find: /^@strata\/realtime$/, replacement: `${root}packages/realtime/src/index.ts` },
  { find: /^@strata\/testing$/, replacement: `${root}packages/testing/src/index.ts` },
  { find: /^@strata\/testing\/server$/, replacement: `${root}packages/testing/src/server-tools.ts` },
  { find: /^@strata\/testing\/(pglite|postgres|sqlite|memory|vitest|global-setup)$/, replacement: `${root}packages/testing/src/$1.ts` },
];

/** Global setup that starts the run's PostgreSQL server (or takes `DATABASE_URL`). */
export const postgresGlobalSetup = `${root}packages/testing/src/global-setup.ts`;

/** The vitest project of one package or example. */
export function strataProject(name: string, overrides: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return {
    resolve: { alias: sourceAliases },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 60_000,
      ...overrides,
    },
  };
}

/**
 * The vitest project of a package whose tests share the run's PostgreSQL server (one per project, or
 * `DATABASE_URL`). Its files run one at a time: gap-safe reads stop at the oldest transaction running
 * anywhere on the server, in any database, so a file that holds a transaction open on purpose would hold
 * back the reads of every other file's cases.
 */
export function serverProject(name: string, overrides: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return strataProject(name, { globalSetup: [postgresGlobalSetup], fileParallelism: false, ...overrides });
}

/**
 * The vitest project of a package whose tests use the run's PostgreSQL server but never hold a
 * transaction open on purpose, so that its files may run side by side. Vitest runs every project with
 * `fileParallelism: false` in one group, one file at a time, after all the others: a project that can
 * go in the parallel group shortens the run by its whole duration.
 */
export function parallelServerProject(name: string, overrides: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return strataProject(name, { globalSetup: [postgresGlobalSetup], ...overrides });
}
