/**
 * The conformance suite every Strata adapter runs — ours and yours. Cases are data with stable dotted
 * ids, picked by the adapter's declared capabilities; `runConformance` turns them into vitest tests.
 *
 * @example
 * ```ts
 * // my-adapter.conformance.test.ts
 * import { runConformance } from '@strata/core/conformance'
 * import { createMyStore } from '../src/index.js'
 *
 * runConformance({
 *   name: 'my adapter',
 *   factory: (settings) => createMyStore({ readPageSize: settings.readPageSize, snapshotsToKeep: settings.snapshotsToKeep, maxAttempts: settings.maxAttempts }),
 * })
 * ```
 *
 * @packageDocumentation
 */
import { describe, it } from 'vitest';
import { conformanceCases } from './cases.js';
import { runCase, settingsOf } from './harness.js';
import type { ConformanceArea, ConformanceCase, ConformanceOptions } from './types.js';

export { conformanceCases } from './cases.js';
export { type CaseOutcome, checkConformance, runCase } from './harness.js';
export {
  type CaseContext,
  type ConformanceArea,
  type ConformanceCase,
  type ConformanceOptions,
  type ConformanceSettings,
  DEFAULT_SETTINGS,
  type RawCounts,
  type RawProbes,
} from './types.js';

function register(options: ConformanceOptions, areas: readonly ConformanceArea[]): void {
  const known = options.knownFailures ?? {};
  const ids = new Set(conformanceCases.map((c) => c.id));
  for (const id of Object.keys(known)) {
    if (!ids.has(id)) throw new Error(`knownFailures names ${JSON.stringify(id)}, which is not a conformance case`);
  }
  describe(`${options.name} conformance`, async () => {
    // Capabilities pick the cases, so ask a store for them before registering any test.
    const probe = await options.factory(settingsOf(options));
    const caps = probe.capabilities;
    await (options.teardown ?? ((s) => s.close()))(probe);
    for (const area of areas) {
      const cases = conformanceCases.filter((c: ConformanceCase) => c.area === area && (c.requires === undefined || c.requires(caps)));
      if (cases.length === 0) continue;
      describe(area, () => {
        for (const c of cases) {
          const timeout = c.timeoutMs ?? options.timeoutMs ?? 20_000;
          const reason = known[c.id];
          if (reason === undefined) it(c.id, () => runCase(c, options), timeout);
          else it.fails(`${c.id} (known failure: ${reason})`, () => runCase(c, options), timeout);
        }
      });
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
  'validation',
  'lifecycle',
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

/** Registers the validation table. */
export function runValidationConformance(options: ConformanceOptions): void {
  register(options, ['validation']);
}

/** Registers the lifecycle cases (close, capabilities, wake-ups). */
export function runLifecycleConformance(options: ConformanceOptions): void {
  register(options, ['lifecycle']);
}
