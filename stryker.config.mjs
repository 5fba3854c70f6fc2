// @ts-check
/**
 * Mutation testing of the memory adapter, killed by the conformance suite alone: `pnpm mutation memory`.
 * See docs/mutation/README.md for what the numbers mean.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  // pnpm keeps the plugins out of @stryker-mutator/core's own node_modules, where Stryker looks for
  // "@stryker-mutator/*": name them by path.
  plugins: ['@stryker-mutator/vitest-runner', '@stryker-mutator/typescript-checker'].map((name) => import.meta.resolve(name)),
  packageManager: 'pnpm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'packages/core/tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['packages/core/src/memory/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'docs/mutation/memory/index.html' },
  // The JSON report (inputs of scripts/mutation-summary.mjs, with per-test coverage) is not committed.
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by scripts/mutation.mjs for partial runs, not a turbo task input
  jsonReporter: { fileName: process.env.STRATA_MUTATION_JSON ?? 'reports/mutation/memory.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
