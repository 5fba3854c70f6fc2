import { PGlite } from '@electric-sql/pglite';
import type { StrataStore } from '@strata/core';
import { runConformance, runFaultConformance } from '@strata/core/conformance';
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

// A lost connection: the application closes the PGlite instance under the store, which no retry can
// fix. Each case gets an instance of its own, closed by the case, loaded from a data directory migrated
// once (a third of the time of booting and migrating each). PGlite is one connection in process: no
// other session can hold its write lock, so there is no holdWriteLock.
const instances = new WeakMap<StrataStore, PGlite>();
let migrated: Promise<File | Blob> | undefined;
const migratedDataDir = () => {
  migrated ??= (async () => {
    const first = await PGlite.create();
    await (await createPgliteStore({ pglite: first, schema: 'faults' })).close();
    const dump = await first.dumpDataDir('none');
    await first.close();
    return dump;
  })();
  return migrated;
};
runFaultConformance({
  name: 'pglite, closed under the store',
  factory: async (settings) => {
    const own = await PGlite.create({ loadDataDir: await migratedDataDir() });
    const store = await createPgliteStore({ ...settings, pglite: own, schema: 'faults' });
    instances.set(store, own);
    return store;
  },
  teardown: async (store) => {
    await store.close();
    const own = instances.get(store);
    if (own !== undefined && !own.closed) await own.close();
  },
  probes: (store) => ({ counts: () => (store as PgliteStore).rowCounts() }),
  faults: {
    loseConnection: {
      kind: 'permanent',
      cut: async (store) => {
        await instances.get(store)?.close();
      },
    },
  },
});
