import { createTestDatabase } from '@strata/testing/server';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import type { AnyPgDatabase } from '../src/index.js';

/**
 * A database of its own for the calling test file on the run's PostgreSQL server, a pool on it, and
 * a fresh schema name per call; everything is dropped after the file.
 */
export async function fileDatabase(poolSize = 20) {
  const database = await createTestDatabase(inject('strataPostgresUrl'));
  const pool = new pg.Pool({ connectionString: database.url, max: poolSize });
  pool.on('error', () => undefined);
  const db = drizzle(pool) as unknown as AnyPgDatabase;
  let n = 0;
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });
  return {
    url: database.url,
    pool,
    db,
    /** A schema name not used before in this file. */
    schemaName: () => `t${++n}_${Math.random().toString(36).slice(2, 8)}`,
    /** Drops a schema and everything in it. */
    dropSchema: (schema: string) => db.execute(sql.raw(`drop schema if exists "${schema}" cascade`)),
  };
}
