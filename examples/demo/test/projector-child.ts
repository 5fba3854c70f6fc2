// Runs the demo's balances projection in a process of its own, slowly, until it is killed.
import { createPostgresStore } from '@strata/postgres';
import { projectBalances } from '../src/balances.js';

const [url, schema] = process.argv.slice(2);
const store = await createPostgresStore(url ?? '', { schema: schema ?? '' });
projectBalances(store, { delayPerEventMs: 10 });
console.log('projecting');
