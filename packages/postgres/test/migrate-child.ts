// Run by migrations.test.ts in a separate process: migrates a schema and prints what it applied.

import { type AnyPgDatabase, migrate } from '@strata/postgres';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';

const [url, schema] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 1 });
try {
  const result = await migrate(drizzle(pool) as unknown as AnyPgDatabase, { schema: schema ?? 'strata' });
  console.log(JSON.stringify(result));
} finally {
  await pool.end();
}
