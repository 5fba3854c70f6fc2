import { defineConfig } from 'vitest/config';
import { sourceAliases } from './vitest.shared.ts';

/**
 * The vitest run that kills mutants in `pnpm mutation` (stryker.config.mjs): the conformance suite
 * against the memory adapter, and nothing else — not the adapter's own unit tests, so the score
 * measures what the suite proves. No global setup: the suite needs no build.
 *
 * The aliases come from `vitest.shared.ts` relative to this file, so inside Stryker's sandbox they
 * resolve to the sandbox's (mutated) sources, not to the working tree's.
 */
export default defineConfig({
  resolve: { alias: sourceAliases },
  test: {
    name: 'mutation',
    include: ['packages/core/test/memory.conformance.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
