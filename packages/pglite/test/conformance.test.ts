import { PGlite } from '@electric-sql/pglite';
import { runConformance } from '@strata/core/conformance';
import { afterAll } from 'vitest';
import { createPgliteStore, type PgliteStore } from '../src/index.js';

// One PGlite instance for the file; each case gets a freshly migrated schema of its own in it.
const pglite = await PGlite.create();
afterAll(() => pglite.close());
let n = 0;

runConformance({
  name: 'pglite',
  factory: (settings) => createPgliteStore({ ...settings, pglite, schema: `case_${++n}` }),
  teardown: async (store) => {
    await store.close();
    await pglite.exec(`drop schema if exists "${(store as PgliteStore).schema}" cascade`);
  },
  probes: (store) => ({ counts: () => (store as PgliteStore).rowCounts() }),
});
