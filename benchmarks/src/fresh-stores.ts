// What a test pays for an isolated, migrated store: today's `createPgliteStore()` (boot PGlite and migrate
// for every test) against the testing package's sources, which boot or connect once and then hand each
// test a store of its own. Each sample is one test's worth: `fresh()`, one append, `close()`; only the
// fresh() and close() are timed.
import type { StrataStore } from '@strata/core';
import { createPgliteStore } from '@strata/pglite';
import { memoryStores } from '@strata/testing/memory';
import { pgliteStores } from '@strata/testing/pglite';
import { postgresStores } from '@strata/testing/postgres';
import { sqliteStores } from '@strata/testing/sqlite';
import type { Result } from './main.js';
import { percentile } from './measure.js';

const WORKLOAD = 'a fresh store per test (open + close)';
const BASELINE = 'createPgliteStore() per test';

async function sample(count: number, open: () => Promise<StrataStore>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const store = await open();
    const t1 = performance.now();
    await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: i } }]);
    const t2 = performance.now();
    await store.close();
    times.push(t1 - t0 + (performance.now() - t2));
  }
  return times;
}

/** Fresh-store cost per adapter, p50 and p99 over `count` stores (a few for the slow baseline). */
export async function freshStoreCosts(serverUrl: string, scale: number, log: (line: string) => void): Promise<Result[]> {
  const count = Math.max(20, Math.round(200 * Math.min(1, scale)));
  const slow = Math.max(3, Math.round(10 * Math.min(1, scale)));
  const measured: { name: string; times: number[]; setupMs?: number }[] = [];
  measured.push({ name: BASELINE, times: await sample(slow, () => createPgliteStore()) });
  const sources = [
    { name: 'pgliteStores().fresh()', stores: pgliteStores() },
    { name: 'postgresStores().fresh()', stores: postgresStores({ url: serverUrl }) },
    { name: 'sqliteStores().fresh()', stores: sqliteStores() },
    { name: 'memoryStores().fresh()', stores: memoryStores() },
  ];
  for (const { name, stores } of sources) {
    const t = performance.now();
    await stores.ready();
    const setupMs = performance.now() - t;
    measured.push({ name, times: await sample(count, () => stores.fresh()), setupMs });
    await stores.close();
  }
  const base = measured[0] as { times: number[] };
  const baseMean = base.times.reduce((a, b) => a + b, 0) / base.times.length;
  log(`fresh stores: ${measured.map((m) => `${m.name} p50 ${percentile(m.times, 50).toFixed(1)} ms`).join(' · ')}`);
  return measured.map((m) => {
    const mean = m.times.reduce((a, b) => a + b, 0) / m.times.length;
    return {
      suite: 'testing',
      workload: WORKLOAD,
      implementation: m.setupMs === undefined ? m.name : `${m.name} (once: ${Math.round(m.setupMs)} ms)`,
      opsPerSec: Math.round((1000 / mean) * 100) / 100,
      p50Ms: Math.round(percentile(m.times, 50) * 100) / 100,
      p99Ms: Math.round(percentile(m.times, 99) * 100) / 100,
      ratioVsRaw: Math.round((baseMean / mean) * 100) / 100,
      baseline: BASELINE,
      unit: 'stores/s',
      samples: m.times.length,
    };
  });
}
