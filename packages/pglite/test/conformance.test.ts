import { runConformance } from '@strata/core/conformance';
import { pgliteStores } from '@strata/testing/pglite';
import { afterAll } from 'vitest';
import type { PgliteStore } from '../src/index.js';

// The suite through the testing package's PGlite stores, as users' tests get them: one PGlite instance
// for the file, and for each case a schema of its own, migrated once and emptied for reuse. PGlite is one
// connection in process, so a sibling is a second store object on the same instance and schema: it proves
// the store keeps nothing of the data to itself, not that two connections exclude each other (the
// PostgreSQL run proves that).
const stores = pgliteStores();
afterAll(() => stores.close());

runConformance({
  name: 'pglite',
  factory: (settings) => stores.fresh(settings),
  probes: (store) => ({ counts: () => (store as PgliteStore).rowCounts() }),
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
  sibling: (store, settings) => stores.sibling(store as PgliteStore, settings),
});
