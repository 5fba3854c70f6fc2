import { createTestDatabase } from '@strata/testing';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

/** A database of its own for the calling test file, a pool on it for the test's own SQL, and fresh schema names. */
export async function fileDatabase() {
  const database = await createTestDatabase(inject('strataPostgresUrl'), 'strata_rt');
  const pool = new pg.Pool({ connectionString: database.url, max: 10 });
  pool.on('error', () => undefined);
  let n = 0;
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });
  return {
    url: database.url,
    adminUrl: inject('strataPostgresUrl'),
    name: database.name,
    pool,
    /** A schema name not used before in this file. */
    schemaName: () => `rt${++n}_${Math.random().toString(36).slice(2, 8)}`,
    /** Ends the listener's backend(s) on this database (found by application_name), like a crash or a failover would. */
    async killListener(): Promise<number> {
      const r = await pool.query<{ ok: boolean }>(
        `select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and application_name = 'strata-listener'`,
        [database.name],
      );
      return r.rows.filter((x) => x.ok).length;
    },
  };
}
