/**
 * The conformance suite every Strata adapter runs — ours and yours — bound to vitest: cases are data
 * with stable dotted ids, picked by the adapter's declared capabilities, and `runConformance` turns
 * them into vitest tests. Without vitest (jest, `node:test`, a script), use `checkConformance` from
 * `@strata/core/conformance/check`, which this entry re-exports.
 *
 * @example
 * ```ts
 * // my-adapter.conformance.test.ts
 * import { runConformance } from '@strata/core/conformance'
 * import { createMemoryStore } from '@strata/core'
 *
 * runConformance({
 *   name: 'my adapter',
 *   factory: (settings) => createMemoryStore({ readPageSize: settings.readPageSize, snapshotsToKeep: settings.snapshotsToKeep, maxAttempts: settings.maxAttempts }),
 * })
 * ```
 *
 * @packageDocumentation
 */
import { describe, it } from 'vitest';
import { conformanceCases } from './cases.js';
import { appliesTo, capabilitiesOf, caseTimeoutOf, explainFailure, runCase, TEARDOWN_TIMEOUT_MS } from './harness.js';
import { describeSettingsFailure, isSettingsCase } from './settings.cases.js';
import type { ConformanceArea, ConformanceCase, ConformanceOptions } from './types.js';

export * from './check.js';

/** The test that fails, with the factory's error, when the factory cannot make the store the suite asks it for first. */
const FACTORY_TEST = 'the factory makes a store';

function register(options: ConformanceOptions, areas: readonly ConformanceArea[]): void {
  const known = options.knownFailures ?? {};
  const ids = new Set(conformanceCases.map((c) => c.id));
  for (const id of Object.keys(known)) {
    if (!ids.has(id)) throw new Error(`knownFailures names ${JSON.stringify(id)}, which is not a conformance case`);
  }
  describe(`${options.name} conformance`, async () => {
    // Capabilities pick the cases, so ask a store for them before registering any test. A factory that
    // cannot make one fails a named test (with its error), rather than the collection of the file.
    let caps: Awaited<ReturnType<typeof capabilitiesOf>>;
    try {
      caps = await capabilitiesOf(options);
    } catch (error) {
      it(FACTORY_TEST, () => {
        throw error;
      });
      return;
    }
    const applies = (c: ConformanceCase) => appliesTo(c, caps, options);
    const settingsProblems: string[] = [];
    // Our bound on the case (and its teardown) fires before vitest's, so its message names the case.
    const define = (c: ConformanceCase) => {
      const timeout = caseTimeoutOf(c, options) + TEARDOWN_TIMEOUT_MS + 1_000;
      const run = async () => {
        try {
          await runCase(c, options);
        } catch (error) {
          if (isSettingsCase(c)) {
            const problem = describeSettingsFailure(error);
            if (problem !== undefined) settingsProblems.push(problem);
          } else explainFailure(error, settingsProblems);
          throw error;
        }
      };
      const reason = known[c.id];
      if (reason === undefined) it(c.id, run, timeout);
      else it.fails(`${c.id} (known failure: ${reason})`, run, timeout);
    };
    // First: did the factory apply the suite's settings? Later failures say so when it did not.
    const settingsChecks = conformanceCases.filter((c) => isSettingsCase(c) && applies(c));
    if (settingsChecks.length > 0) describe('settings', () => settingsChecks.forEach(define));
    for (const area of areas) {
      const cases = conformanceCases.filter((c) => c.area === area && !isSettingsCase(c) && applies(c));
      if (cases.length === 0) continue;
      describe(area, () => cases.forEach(define));
    }
  });
}

const ALL_AREAS: readonly ConformanceArea[] = [
  'events',
  'snapshots',
  'queue',
  'checkpoints',
  'transactions',
  'subscriptions',
  'transfer',
  'validation',
  'lifecycle',
  'faults',
];

/** Registers every applicable case as a vitest test, grouped by area. */
export function runConformance(options: ConformanceOptions): void {
  register(options, ALL_AREAS);
}

/** Registers the event store cases. */
export function runEventStoreConformance(options: ConformanceOptions): void {
  register(options, ['events']);
}

/** Registers the snapshot store cases. */
export function runSnapshotConformance(options: ConformanceOptions): void {
  register(options, ['snapshots']);
}

/** Registers the message queue cases. */
export function runQueueConformance(options: ConformanceOptions): void {
  register(options, ['queue']);
}

/** Registers the checkpoint store cases. */
export function runCheckpointConformance(options: ConformanceOptions): void {
  register(options, ['checkpoints']);
}

/** Registers the transaction cases. */
export function runTransactionConformance(options: ConformanceOptions): void {
  register(options, ['transactions']);
}

/** Registers the subscription cases. */
export function runSubscriptionConformance(options: ConformanceOptions): void {
  register(options, ['subscriptions']);
}

/** Registers the transfer cases (export and import of canonical records). */
export function runTransferConformance(options: ConformanceOptions): void {
  register(options, ['transfer']);
}

/** Registers the validation table. */
export function runValidationConformance(options: ConformanceOptions): void {
  register(options, ['validation']);
}

/** Registers the fault cases (a lost connection, a held write lock; see {@link ConformanceOptions.faults}). */
export function runFaultConformance(options: ConformanceOptions): void {
  register(options, ['faults']);
}

/** Registers the lifecycle cases (close, capabilities, wake-ups). */
export function runLifecycleConformance(options: ConformanceOptions): void {
  register(options, ['lifecycle']);
}
