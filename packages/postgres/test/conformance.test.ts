import type { StrataStore } from '@strata/core';
import { type ConformanceFaults, runConformance, runFaultConformance } from '@strata/core/conformance';
import { postgresStores } from '@strata/testing/postgres';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { createPostgresStore, type PostgresStore } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fixture = await fileDatabase();

// The full suite on a real PostgreSQL server, through the testing package's PostgreSQL stores (as users'
// tests get them): a database of the source's own, and for each case a schema of its own, migrated once and
// emptied for reuse. A sibling is a second store on that schema with a pool of its own (as another
// process would open it), without migrations.
const stores = postgresStores({ url: inject('strataPostgresUrl') });
afterAll(() => stores.close());
runConformance({
  name: 'postgres',
  factory: (settings) => stores.fresh(settings),
  probes: (store) => ({ counts: () => (store as PostgresStore).rowCounts() }),
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
  sibling: (store, settings) => stores.sibling(store as PostgresStore, settings),
});

// The faults, on stores with pools of their own, each naming its connections (application_name) so that
// another session can kill exactly them, and with the server's lock_timeout set short on them: a write
// waiting on a lock another session holds fails with 55P03 (TIMEOUT) instead of waiting until
// statementTimeoutMs drops the connection.
const names = new WeakMap<StrataStore, string>();
let faultStores = 0;
const faults: ConformanceFaults = {
  // A killed session: the pool drops the dead connections and opens others.
  loseConnection: {
    kind: 'transient',
    cut: async (store) => {
      await fixture.db.execute(
        sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${names.get(store) ?? '?'} and datname = current_database()`,
      );
    },
  },
  // Another session holds every table of the store's schema in EXCLUSIVE mode: plain reads go on, writes wait.
  holdWriteLock: async (store) => {
    const { schema } = store as PostgresStore;
    const other = new pg.Client({ connectionString: fixture.url });
    other.on('error', () => undefined);
    const tables = ['events', 'streams', 'queue_messages', 'snapshots', 'checkpoints', 'consumer_leases'].map((t) => `"${schema}".${t}`);
    try {
      await other.connect();
      await other.query('begin');
      await other.query(`lock table ${tables.join(', ')} in exclusive mode`);
    } catch (error) {
      await other.end().catch(() => undefined);
      throw error;
    }
    return async () => {
      await other.query('rollback');
      await other.end();
    };
  },
};
runFaultConformance({
  name: 'postgres, lock_timeout 150 ms',
  factory: async (settings) => {
    // Unique across processes sharing the server, so that one run never kills another's sessions.
    const name = `strata-faults-${process.pid}-${++faultStores}`;
    const url = new URL(fixture.url);
    url.searchParams.set('application_name', name);
    url.searchParams.set('options', '-c lock_timeout=150');
    const store = await createPostgresStore(url.toString(), { ...settings, schema: fixture.schemaName(), poolSize: 4 });
    names.set(store, name);
    return store;
  },
  teardown: async (store) => {
    await store.close();
    await fixture.dropSchema((store as PostgresStore).schema);
  },
  probes: (store) => ({ counts: () => (store as PostgresStore).rowCounts() }),
  faults,
});
