// @ts-check
import memory from './stryker.config.mjs';

/**
 * Mutation testing of the SQLite adapter, killed by the conformance suite alone: `pnpm mutation sqlite`.
 * The same settings as the memory run (stryker.config.mjs); only the mutated files, the checker's
 * project, the test run and the report paths differ. The generated migration list is data, not logic.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  ...memory,
  vitest: { configFile: 'vitest.mutation.sqlite.config.ts', related: false },
  tsconfigFile: 'packages/sqlite/tsconfig.json',
  mutate: ['packages/sqlite/src/**/*.ts', '!packages/sqlite/src/migrations.generated.ts', '!packages/sqlite/src/index.ts'],
  htmlReporter: { fileName: 'docs/mutation/sqlite/index.html' },
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by scripts/mutation.mjs for partial runs, not a turbo task input
  jsonReporter: { fileName: process.env.STRATA_MUTATION_JSON ?? 'reports/mutation/sqlite.json' },
};
