import { defineConfig } from 'vitest/config';
import { sourceAliases } from './vitest.shared.ts';

/**
 * The vitest run that kills mutants of the SQLite adapter in `pnpm mutation sqlite`
 * (stryker.sqlite.config.mjs): the conformance suite against SQLite (an in-memory database and a
 * WAL file per case), and nothing else — not the adapter's own tests, so the score measures what the
 * suite proves about a SQLite adapter.
 */
export default defineConfig({
  resolve: { alias: sourceAliases },
  test: {
    name: 'mutation-sqlite',
    include: ['packages/sqlite/test/conformance.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
