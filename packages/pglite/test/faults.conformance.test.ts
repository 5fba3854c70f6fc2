import { PGlite } from '@electric-sql/pglite';
import type { StrataStore } from '@strata/core';
import { runFaultConformance } from '@strata/core/conformance';
import { createPgliteStore, type PgliteStore } from '../src/index.js';

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
// Made while the file loads, not inside the first case: booting and migrating took more than that case's
// 20 s on a loaded machine (the whole suite in parallel), and the case failed for the time, not the store.
await migratedDataDir();
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
