import { runConformance } from '@strata/core/conformance';
import { createPostgresStore, type PostgresStore } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fixture = await fileDatabase();

// The full suite on a real PostgreSQL server: each case gets a freshly migrated schema of its own. A
// sibling is a second store on that schema with a pool of its own (as another process would open it),
// without migrations; it closes its pool on close() and drops nothing.
runConformance({
  name: 'postgres',
  factory: (settings) => createPostgresStore(fixture.db, { ...settings, schema: fixture.schemaName() }),
  teardown: async (store) => {
    await store.close();
    await fixture.dropSchema((store as PostgresStore).schema);
  },
  probes: (store) => ({ counts: () => (store as PostgresStore).rowCounts() }),
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
  sibling: (store, settings) => createPostgresStore(fixture.url, { ...settings, schema: (store as PostgresStore).schema, migrate: false, poolSize: 4 }),
});
