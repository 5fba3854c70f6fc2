// A script that makes the most common mistake with transactions: it calls the store, not `tx`, inside
// the callback. With top-level await, a call that never settles would end the process silently (exit
// code 13); misuse.test.ts checks that it fails with the typed error instead.
import { createMemoryStore, type StrataStore } from '@strata/core';
import { createSqliteStore } from '@strata/sqlite';

const store: StrataStore = process.argv[2] === 'memory' ? createMemoryStore() : await createSqliteStore(':memory:');
await store.transaction(async () => {
  await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }]);
});
process.stdout.write('not reached\n');
