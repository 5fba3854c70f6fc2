import { PGlite } from '@electric-sql/pglite';
import { runConformance } from '@strata/core/conformance';
import { afterAll } from 'vitest';
import { createPgliteStore, type PgliteStore } from '../src/index.js';

// One PGlite instance for the file; each case gets a freshly migrated schema of its own in it. PGlite is
// one connection in process, so a sibling is a second store object on the same instance and schema
// (without migrations): it proves the store keeps nothing of the data to itself, not that two
// connections exclude each other (the PostgreSQL run proves that).
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
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
  sibling: (store, settings) => createPgliteStore({ ...settings, pglite, schema: (store as PgliteStore).schema, migrate: false }),
});
