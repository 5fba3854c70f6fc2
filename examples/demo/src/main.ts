import { createPgliteStore } from '@strata/pglite';
import { createPostgresStore, type PostgresStore } from '@strata/postgres';
import { runDemo } from './demo.js';

// PGlite (PostgreSQL in process) by default; a PostgreSQL server when DATABASE_URL is set. Each run on
// a server gets a schema of its own, so runs never see each other's accounts.
const url = process.env.DATABASE_URL;
let store: PostgresStore;
if (url !== undefined && url !== '') {
  const schema = `strata_demo_${Date.now()}`;
  store = await createPostgresStore(url, { schema });
  console.log(`Strata demo on PostgreSQL (schema ${schema})\n`);
} else {
  store = await createPgliteStore();
  console.log('Strata demo on PGlite (PostgreSQL in process, in memory)\n');
}
try {
  await runDemo(store, (line) => console.log(line));
} finally {
  await store.close();
}
console.log('\ndone');
