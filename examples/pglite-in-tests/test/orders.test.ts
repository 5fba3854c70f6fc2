import { PGlite } from '@electric-sql/pglite';
import { type AppendResult, isStrataError, type StrataStore } from '@strata/core';
import { createPgliteStore, type PgliteStore } from '@strata/pglite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

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

// One PGlite per test file: starting one takes a second or two. A fresh schema per test: milliseconds.
let pglite: PGlite;
let schemas = 0;
const opened: PgliteStore[] = [];

beforeAll(async () => {
  pglite = await PGlite.create();
});

afterEach(async () => {
  // A store given an instance never closes it; closing the stores keeps the instance for the next test.
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

afterAll(async () => {
  await pglite.close();
});

/** A migrated, empty store of its own for the calling test. */
async function freshStore(): Promise<PgliteStore> {
  const store = await createPgliteStore({ pglite, schema: `test_${++schemas}` });
  opened.push(store);
  return store;
}

describe('placeOrder', () => {
  it('records the order and queues its email', async () => {
    const store = await freshStore();
    const result = await placeOrder(store, '42', 99);
    expect(result.version).toBe(1);
    const [delivery] = await store.queue.receive('emails');
    expect(delivery?.body).toEqual({ template: 'order-placed', orderId: '42' });
  });

  it('refuses the same order twice, and queues nothing the second time', async () => {
    const store = await freshStore();
    await placeOrder(store, '42', 99);
    const error = await placeOrder(store, '42', 99).catch((e: unknown) => e);
    expect(isStrataError(error, 'CONCURRENCY')).toBe(true);
    expect((await store.queue.stats('emails')).ready).toBe(1);
  });

  it('starts every test from an empty store', async () => {
    const store = await freshStore();
    expect(await store.events.headPosition()).toBe(0n);
    expect(await store.events.streamInfo('order-42')).toBeNull();
  });
});
