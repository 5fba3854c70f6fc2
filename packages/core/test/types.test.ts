/**
 * Type-level tests: `pnpm typecheck` compiles this file (`tsc -p test`), so each `@ts-expect-error`
 * fails the build when the line it guards compiles, and each accepted call fails it when it does not.
 * The accepted calls also run here, against the memory adapter.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ConcurrencyError,
  createMemoryStore,
  createRepository,
  isStrataError,
  type JsonCompatible,
  type JsonValue,
  type NewEvent,
  type OutgoingMessage,
  type StoredEvent,
  type StrataStore,
} from '../src/index.js';

interface OrderLine {
  sku: string;
  quantity: number;
  note?: string;
}

interface OrderState {
  status: 'open' | 'paid';
  total: number;
  lines: OrderLine[];
  tags: readonly string[];
  paidAt: string | null;
  coupon?: { code: string; percent: number };
}

interface OrderPlaced {
  orderId: string;
  lines: OrderLine[];
}

interface OrderPaid {
  orderId: string;
  amount: number;
}

type OrderCancelled = { orderId: string; reason: string };

type OrderEvent = NewEvent<'OrderPlaced', OrderPlaced> | NewEvent<'OrderPaid', OrderPaid> | NewEvent<'OrderCancelled', OrderCancelled>;

interface EmailJob {
  to: string;
  template: 'receipt' | 'reminder';
}

const placed: OrderPlaced = { orderId: 'o-1', lines: [{ sku: 'A', quantity: 2 }] };
const paid: OrderPaid = { orderId: 'o-1', amount: 42 };

function evolve(state: OrderState, event: StoredEvent): OrderState {
  if (event.type === 'OrderPaid') return { ...state, status: 'paid', total: (event.data as unknown as OrderPaid).amount };
  return state;
}
const initialState = (): OrderState => ({ status: 'open', total: 0, lines: [], tags: [], paidAt: null });

describe('types', () => {
  it('isStrataError narrows to the class of the code', async () => {
    const store = createMemoryStore();
    await store.events.append('s', [{ type: 'A', data: {} }]);
    const error = await store.events.append('s', [{ type: 'A', data: {} }], { expectedVersion: 0 }).catch((e: unknown) => e);
    if (!isStrataError(error, 'CONCURRENCY')) throw new Error('expected CONCURRENCY');
    expectTypeOf(error).toExtend<ConcurrencyError>();
    expectTypeOf(error.actualVersion).toEqualTypeOf<number | undefined>();
    expectTypeOf(error.code).toEqualTypeOf<'CONCURRENCY'>();
    expect(error.actualVersion).toBe(1);
    const other: unknown = error;
    if (isStrataError(other, 'VALIDATION')) expectTypeOf(other.field).toBeString();
  });

  it('accepts interfaces and type aliases as aggregate state, event data, snapshot state and message bodies', async () => {
    const store: StrataStore = createMemoryStore();
    const repo = createRepository<OrderState>(store, { initialState, evolve, snapshotEvery: 2 });
    const inferred = createRepository(store, { initialState, evolve });
    expectTypeOf(inferred).toEqualTypeOf(repo);

    await store.events.append('order-1', [{ type: 'OrderPlaced', data: placed }], { expectedVersion: 'no_stream' });
    await repo.append('order-1', [{ type: 'OrderPaid', data: paid }], { expectedVersion: 1 });
    const events: OrderEvent[] = [
      { type: 'OrderPlaced', data: placed },
      { type: 'OrderCancelled', data: { orderId: 'o-2', reason: 'changed mind' } },
    ];
    await store.events.append('order-2', events);
    await store.events.append('order-3', [
      { type: 'OrderPlaced', data: placed },
      { type: 'OrderPaid', data: paid },
    ]);
    const result = await repo.update('order-4', (state): OrderEvent[] => (state.status === 'open' ? [{ type: 'OrderPaid', data: paid }] : []));
    expectTypeOf(result.state).toEqualTypeOf<OrderState>();
    expect(result.state.status).toBe('paid');

    const state: OrderState = { ...initialState(), coupon: { code: 'X', percent: 5 } };
    await store.snapshots.save('order-1', { version: 2, state });
    const job: EmailJob = { to: 'a@example.com', template: 'receipt' };
    await store.queue.send('emails', { body: job });
    const jobs: OutgoingMessage<EmailJob>[] = [{ body: job }, { body: job, priority: 1 }];
    await store.queue.send('emails', jobs);
    await store.queue.send('emails', [{ body: job }, { body: { other: [1, 'two', null] } }]);
    expect((await store.queue.stats('emails')).ready).toBe(5);

    // Code written against JsonValue keeps compiling.
    const generic = <T extends JsonValue>(data: T) => store.events.append('order-5', [{ type: 'Any', data }]);
    await generic({ any: ['json'] });
    const loose: NewEvent[] = [{ type: 'Any', data: 1 }];
    await store.events.append('order-5', loose);
    const untyped: unknown = { x: 1 };
    await store.events.append('order-5', [{ type: 'Any', data: untyped as JsonValue }]);
  });

  it('rejects payloads that are not JSON', () => {
    // Compiled, never run: each call below must be a compile error.
    const rejected = (store: StrataStore) => {
      interface WithMethod {
        total(): number;
      }
      interface WithDate {
        at: Date;
      }
      interface WithUndefined {
        note: string | undefined;
      }
      interface WithBigint {
        amount: bigint;
      }
      // @ts-expect-error a method is not JSON
      createRepository<WithMethod>(store, { initialState: () => ({ total: () => 0 }), evolve: (s) => s });
      // @ts-expect-error a Date is not JSON (store its ISO string)
      createRepository<WithDate>(store, { initialState: () => ({ at: new Date() }), evolve: (s) => s });
      // @ts-expect-error a required property may not be undefined
      createRepository<WithUndefined>(store, { initialState: () => ({ note: undefined }), evolve: (s) => s });
      // @ts-expect-error bigint is not JSON
      void store.events.append('s', [{ type: 'A', data: { amount: 1n } as WithBigint }]);
      // @ts-expect-error a function is not JSON
      void store.events.append('s', [{ type: 'A', data: { f: () => 1 } }]);
      // @ts-expect-error a function as the whole payload
      void store.events.append('s', [{ type: 'A', data: () => 1 }]);
      // @ts-expect-error undefined as the whole payload
      void store.events.append('s', [{ type: 'A', data: undefined }]);
      // @ts-expect-error a symbol is not JSON
      void store.events.append('s', [{ type: 'A', data: [Symbol('x')] }]);
      const mixed = [
        { type: 'A', data: placed },
        { type: 'B', data: { at: new Date() } },
      ];
      // @ts-expect-error one event of several is not JSON
      void store.events.append('s', mixed);
      // @ts-expect-error a Map is not JSON
      void store.snapshots.save('s', { version: 1, state: new Map<string, number>() });
      // @ts-expect-error unknown is not known to be JSON
      void store.queue.send('q', { body: {} as { payload: unknown } });
      // @ts-expect-error a Date body
      void store.queue.send('q', [{ body: 'ok' }, { body: new Date() }]);
      // @ts-expect-error events in a repository update
      void createRepository<OrderState>(store, { initialState, evolve }).update('s', () => [{ type: 'A', data: { at: new Date() } }]);
    };
    expect(typeof rejected).toBe('function');
  });

  it('JsonCompatible<T> is the constraint user code can reuse', () => {
    const save = <T extends JsonCompatible<T>>(store: StrataStore, state: T) => store.snapshots.save('s', { version: 1, state });
    expectTypeOf(save).toBeFunction();
    expectTypeOf<OrderState>().toExtend<JsonCompatible<OrderState>>();
    expectTypeOf<OrderCancelled>().toExtend<JsonCompatible<OrderCancelled>>();
    type Fits<T> = T extends JsonCompatible<T> ? true : false;
    expectTypeOf<Fits<Date>>().toEqualTypeOf<false>();
    expectTypeOf<Fits<{ f: () => void }>>().toEqualTypeOf<false>();
    expectTypeOf<Fits<{ at?: string }>>().toEqualTypeOf<true>();
  });
});
