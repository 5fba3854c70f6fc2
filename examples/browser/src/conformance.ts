import { PGlite } from '@electric-sql/pglite';
import type { StrataStore } from '@strata/core';
import { checkConformance } from '@strata/core/conformance/check';
import { createPgliteStore, type PgliteStore } from '@strata/pglite';

/** What a run reports to the test: how many cases ran, and the failures (id and message). */
export interface ConformanceReport {
  ran: number;
  failed: { id: string; error: string }[];
  ms: number;
}

/**
 * Runs the conformance cases of `areas` against PGlite in this page, in memory. One instance serves the
 * whole run; each case gets a schema of its own, migrated the first time it is made and emptied
 * (every table truncated) when its case ends, so that the next case finds it as fresh as a new one
 * without paying for the migrations again.
 */
async function run(areas: readonly string[]): Promise<ConformanceReport> {
  const started = performance.now();
  const pglite = await PGlite.create();
  const free: string[] = [];
  let made = 0;
  try {
    const outcomes = await checkConformance(
      {
        name: 'pglite in the browser',
        async factory(settings) {
          const reused = free.pop();
          const schema = reused ?? `case_${++made}`;
          return createPgliteStore({ ...settings, pglite, schema, migrate: reused === undefined });
        },
        async teardown(store: StrataStore) {
          const { schema } = store as PgliteStore;
          await store.close();
          const { rows } = await pglite.query<{ name: string }>(
            "select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = $1 and tablename <> '__strata_migrations'",
            [schema],
          );
          await pglite.exec(`truncate ${rows.map((r) => r.name).join(', ')} restart identity cascade`);
          free.push(schema);
        },
        probes: (store) => ({ counts: () => (store as PgliteStore).rowCounts() }),
        capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
        sibling: (store, settings) => createPgliteStore({ ...settings, pglite, schema: (store as PgliteStore).schema, migrate: false }),
      },
      (c) => areas.includes(c.area),
    );
    return {
      ran: outcomes.length,
      failed: outcomes.filter((o) => !o.passed).map((o) => ({ id: o.id, error: o.error instanceof Error ? o.error.message : String(o.error) })),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await pglite.close();
  }
}

(window as unknown as { strataConformance: { run: typeof run } }).strataConformance = { run };
(document.querySelector('#status') as HTMLElement).dataset.ready = 'true';
