// Typed events and messages flow from a declared type into handlers without casts. `pnpm typecheck`
// compiles this file (`tsc -p test`): the @ts-expect-error lines fail it if a wrong type is accepted.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  consume,
  createMemoryStore,
  type Delivery,
  rebuildProjection,
  type StoredEvent,
  type StoredEventOf,
  type StoreTransaction,
  subscribe,
} from '../src/index.js';

type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderShipped'; data: { carrier: string } };
type EmailJob = { to: string; template: 'welcome' | 'receipt' };

describe('typed handlers', () => {
  it('subscribe: a handler typed with a union of events narrows on type', async () => {
    const store = createMemoryStore();
    await store.events.append('order-1', [
      { type: 'OrderPlaced', data: { total: 42 } },
      { type: 'OrderShipped', data: { carrier: 'ups' } },
    ]);
    const seen: string[] = [];
    const sub = subscribe(store, {
      handler: (e: StoredEventOf<OrderEvent>) => {
        if (e.type === 'OrderPlaced') {
          expectTypeOf(e.data).toEqualTypeOf<{ total: number }>();
          seen.push(`placed ${e.data.total}`);
        } else {
          expectTypeOf(e.data).toEqualTypeOf<{ carrier: string }>();
          seen.push(`shipped by ${e.data.carrier}`);
        }
      },
      onError: (_error, e) => {
        expectTypeOf(e).toEqualTypeOf<StoredEventOf<OrderEvent>>();
        return 'stop';
      },
    });
    await expect.poll(() => seen.length).toBe(2);
    await sub.stop();
    expect(seen).toEqual(['placed 42', 'shipped by ups']);
  });

  it('subscribe: the event type can be given as a type argument, and defaults to StoredEvent', () => {
    const store = createMemoryStore();
    const explicit = subscribe<StoredEventOf<OrderEvent>>(store, {
      handler: (e) => {
        expectTypeOf(e.type).toEqualTypeOf<'OrderPlaced' | 'OrderShipped'>();
      },
    });
    const plain = subscribe(store, {
      handler: (e) => {
        expectTypeOf(e).toEqualTypeOf<StoredEvent>();
      },
    });
    // @ts-expect-error a handler of numbers is not a handler of events
    subscribe(store, { handler: (_e: number) => undefined });
    return Promise.all([explicit.stop(), plain.stop(), store.close()]);
  });

  it("subscribe: the context's transaction carries the store's database type", () => {
    const store = createMemoryStore();
    const sub = subscribe(store, {
      from: { consumer: 'c' },
      handler: (_e, { tx }) => {
        expectTypeOf(tx).toEqualTypeOf<StoreTransaction<undefined> | undefined>();
      },
    });
    return Promise.all([sub.stop(), store.close()]);
  });

  it('consume: a handler typed with its message body', async () => {
    const store = createMemoryStore();
    await store.queue.send('emails', { body: { to: 'ann@example.com', template: 'welcome' } });
    const stop = new AbortController();
    const got: string[] = [];
    const worker = consume(
      store,
      'emails',
      async (d: Delivery<EmailJob>) => {
        expectTypeOf(d.body.template).toEqualTypeOf<'welcome' | 'receipt'>();
        got.push(`${d.body.template} to ${d.body.to}`);
      },
      { signal: stop.signal },
    );
    await expect.poll(() => got.length).toBe(1);
    stop.abort();
    await worker;
    expect(got).toEqual(['welcome to ann@example.com']);
    consume<EmailJob>(
      store,
      'emails',
      (d) => {
        expectTypeOf(d.body).toEqualTypeOf<EmailJob>();
      },
      { signal: stop.signal },
    );
    // @ts-expect-error a handler of strings is not a handler of deliveries
    consume(store, 'emails', (_d: string) => undefined, { signal: stop.signal });
    await store.close();
  });

  it('rebuildProjection takes the same typed handler', async () => {
    const store = createMemoryStore();
    const sub = await rebuildProjection(store, {
      consumer: 'orders',
      clear: async (tx) => {
        expectTypeOf(tx.db).toEqualTypeOf<undefined>();
      },
      handler: (e: StoredEventOf<OrderEvent>) => {
        expectTypeOf(e.type).toEqualTypeOf<'OrderPlaced' | 'OrderShipped'>();
      },
    });
    await sub.stop();
    expect((await store.checkpoints.get('orders'))?.position).toBe(0n);
    await expect(rebuildProjection(store, { consumer: '', clear: async () => undefined, handler: () => undefined })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(rebuildProjection(store, { consumer: 'x', clear: async () => undefined, handler: () => undefined, batchSize: 0 })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    expect(await store.checkpoints.get('x')).toBeNull();
    await store.close();
  });
});
