import { type AppendResult, isStrataError, type StrataStore } from '@strata/core';
import { pgliteStores } from '@strata/testing/pglite';
import { storeTest } from '@strata/testing/vitest';
import { describe, expect } from 'vitest';

// The application code under test (in an application, it lives in src/ and is imported).
async function placeOrder(store: StrataStore, orderId: string, total: number): Promise<AppendResult> {
  return store.transaction(async (tx) => {
    const result = await tx.events.append(`order-${orderId}`, [{ type: 'OrderPlaced', data: { orderId, total } }], {
      expectedVersion: 'no_stream',
    });
    await tx.queue.send('emails', { body: { template: 'order-placed', orderId } });
    return result;
  });
}

// vitest's `test`, with a fresh store per test: one PGlite instance for the file (booted before the first
// test), and for each test an empty, migrated schema of its own, closed and emptied after it.
const test = storeTest(() => pgliteStores());

describe('placeOrder', () => {
  test('records the order and queues its email', async ({ store }) => {
    const result = await placeOrder(store, '42', 99);
    expect(result.version).toBe(1);
    const [delivery] = await store.queue.receive('emails');
    expect(delivery?.body).toEqual({ template: 'order-placed', orderId: '42' });
  });

  test('refuses the same order twice, and queues nothing the second time', async ({ store }) => {
    await placeOrder(store, '42', 99);
    const error = await placeOrder(store, '42', 99).catch((e: unknown) => e);
    expect(isStrataError(error, 'CONCURRENCY')).toBe(true);
    expect((await store.queue.stats('emails')).ready).toBe(1);
  });

  test('starts every test from an empty store', async ({ store }) => {
    expect(await store.events.headPosition()).toBe(0n);
    expect(await store.events.streamInfo('order-42')).toBeNull();
  });

  test('reads the store with SQL too: its tables are in store.schema', async ({ store }) => {
    await placeOrder(store, '7', 10);
    const { rows } = await store.pglite.query<{ n: number }>(`select count(*)::int as n from "${store.schema}".events`);
    expect(rows[0]?.n).toBe(1);
  });
});
