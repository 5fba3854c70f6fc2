import { checkConformance } from '@strata/core/conformance/check';
import type { PgliteStore } from '@strata/pglite';
import { pgliteStores } from '@strata/testing/pglite';

/** What a run reports to the test: how many cases ran, and the failures (id and message). */
export interface ConformanceReport {
  ran: number;
  failed: { id: string; error: string }[];
  ms: number;
}

/**
 * Runs the conformance cases of `areas` against PGlite in this page, in memory, with the stores the
 * testing package gives tests: one instance for the whole run, and for each case a schema of its own,
 * migrated the first time and emptied for reuse.
 */
async function run(areas: readonly string[]): Promise<ConformanceReport> {
  const started = performance.now();
  const stores = pgliteStores();
  try {
    const outcomes = await checkConformance(
      {
        name: 'pglite in the browser',
        factory: (settings) => stores.fresh(settings),
        probes: (store) => ({ counts: () => (store as PgliteStore).rowCounts() }),
        capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
        sibling: (store, settings) => stores.sibling(store as PgliteStore, settings),
      },
      (c) => areas.includes(c.area),
    );
    return {
      ran: outcomes.length,
      failed: outcomes.filter((o) => !o.passed).map((o) => ({ id: o.id, error: o.error instanceof Error ? o.error.message : String(o.error) })),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await stores.close();
  }
}

(window as unknown as { strataConformance: { run: typeof run } }).strataConformance = { run };
(document.querySelector('#status') as HTMLElement).dataset.ready = 'true';
