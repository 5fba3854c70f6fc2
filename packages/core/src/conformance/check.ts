/**
 * The conformance suite without a test runner: `checkConformance` runs every case that applies to an
 * adapter and returns one outcome per case, so that jest, `node:test`, mocha or a plain script can
 * certify an adapter. Nothing here imports a test runner; `@strata/core/conformance` adds the vitest
 * binding (`runConformance`) on top of the same cases.
 *
 * @example
 * ```ts
 * // my-adapter.conformance.test.mjs, run with `node --test`
 * import assert from 'node:assert/strict'
 * import { test } from 'node:test'
 * import { createMemoryStore } from '@strata/core'
 * import { checkConformance } from '@strata/core/conformance/check'
 *
 * test('my adapter passes the Strata conformance suite', async () => {
 *   const outcomes = await checkConformance({ name: 'my adapter', factory: (settings) => createMemoryStore(settings) })
 *   const failed = outcomes.filter((o) => !o.passed).map((o) => `${o.id}: ${String(o.error)}`)
 *   assert.deepEqual(failed, [])
 * })
 * ```
 *
 * @packageDocumentation
 */
export { conformanceCases } from './cases.js';
export { type CaseOutcome, checkConformance, runCase } from './harness.js';
export { leaksOf } from './helpers.js';
export {
  type CaseContext,
  type ConformanceArea,
  type ConformanceCase,
  type ConformanceFaults,
  type ConformanceOptions,
  type ConformanceSettings,
  DEFAULT_SETTINGS,
  type RawCounts,
  type RawProbes,
  type RunFeatures,
} from './types.js';
