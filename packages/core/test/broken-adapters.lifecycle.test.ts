import { checkConformance } from '@strata/core/conformance';
import { describe, expect, it } from 'vitest';
import { contractCalls, contractIterators, slug } from '../src/conformance/lifecycle.cases.js';
import { createMemoryStore, isStrataError, StoreClosedError, type StoreTransaction, StrataError, ValidationError } from '../src/index.js';
import { type Breakage, type BrokenAdapter, describeBrokenAdapters } from './broken.js';

// State that outlives what it belongs to: a closed store, a settled transaction, an iterator open
// across either. Each adapter here is the memory adapter with one such rule broken.

type Part = 'events' | 'queue' | 'snapshots' | 'checkpoints' | 'transfer';
const parts: Part[] = ['events', 'queue', 'snapshots', 'checkpoints', 'transfer'];

/** Every method of `part` passed through `wrap` (given the method's name and the original). */
function mapMethods<T extends object>(part: T, wrap: (name: string, method: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown): T {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(part)) out[name] = typeof method === 'function' ? wrap(name, (...args) => method.apply(part, args)) : method;
  return out as T;
}

/** Every contract of `on` (a store or a transaction) with its methods passed through `wrap`. */
function mapContracts<T extends StoreTransaction>(
  on: T,
  wrap: (part: Part, name: string, method: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown,
): T {
  const out = { ...on };
  for (const part of parts) Object.assign(out, { [part]: mapMethods(on[part], (name, method) => wrap(part, name, method)) });
  return out;
}

/** The same change to the store's contracts and to those of every transaction it runs. */
const everywhere =
  (wrap: (part: Part, name: string, method: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown): Breakage =>
  (s) => ({ ...mapContracts(s, wrap), transaction: (fn) => s.transaction((tx) => fn(mapContracts(tx, wrap))) });

/** Replaces every CLOSED error a call raises (at once, or while iterating) with `replace(operation)`. */
const closedErrors = (replace: (operation: string) => unknown) =>
  everywhere((part, name, method) => (...args) => {
    const operation = `${part}.${name}`;
    const swap = (error: unknown) => {
      throw isStrataError(error, 'CLOSED') ? replace(operation) : error;
    };
    const result = method(...args);
    if (result instanceof Promise) return result.catch(swap);
    if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result)
      return (async function* () {
        try {
          yield* result as AsyncIterable<unknown>;
        } catch (error) {
          swap(error);
        }
      })();
    return result;
  });

/** A transaction whose `part`, once the transaction settled, runs on the store instead of rejecting. */
const settledPartWorks =
  (part: Part): Breakage =>
  (s) => ({
    ...s,
    transaction: (fn) => {
      let settled = false;
      return s
        .transaction((tx) =>
          fn({
            ...tx,
            [part]: mapMethods(
              tx[part],
              (name) =>
                (...args) =>
                  ((settled ? s : tx)[part] as unknown as Record<string, (...a: unknown[]) => unknown>)[name]?.(...args),
            ),
          }),
        )
        .finally(() => {
          settled = true;
        });
    },
  });

const callIds = (area: 'lifecycle' | 'transactions', prefix: string) =>
  contractCalls.filter((c) => c.operation.startsWith(prefix)).map((c) => `${area}.${area === 'lifecycle' ? 'close' : 'settled'}.${slug(c.operation)}-rejects`);

/** Answers with `fallback` where the store is closed. */
const unlessClosed =
  <T>(call: () => Promise<T>, fallback: T): (() => Promise<T>) =>
  () =>
    call().catch((error: unknown) => {
      if (isStrataError(error, 'CLOSED')) return fallback;
      throw error;
    });

const broken: Record<string, BrokenAdapter> = {
  'answers admin queue calls after close': {
    breakage: (s) => ({
      ...s,
      queue: {
        ...s.queue,
        stats: (q) => unlessClosed(() => s.queue.stats(q), { ready: 0, inFlight: 0, delayed: 0, deadLettered: 0, oldestReadyAgeMs: null })(),
        nextVisibleInMs: (q) => unlessClosed(() => s.queue.nextVisibleInMs(q), null)(),
        deadLetters: (q, o) => unlessClosed(() => s.queue.deadLetters(q, o), [])(),
        redrive: (q, ids) => unlessClosed(() => s.queue.redrive(q, ids), 0)(),
        purge: (q) => unlessClosed(() => s.queue.purge(q), 0)(),
      },
    }),
    mustFail: ['stats', 'next-visible-in-ms', 'dead-letters', 'redrive', 'purge'].map((m) => `lifecycle.close.queue-${m}-rejects`),
  },
  'answers leases and transfer counts after close': {
    breakage: (s) => ({
      ...s,
      checkpoints: {
        ...s.checkpoints,
        acquireLease: (c, o) => unlessClosed(() => s.checkpoints.acquireLease(c, o), false)(),
        releaseLease: (c, o) => unlessClosed(() => s.checkpoints.releaseLease(c, o), undefined)(),
      },
      transfer: {
        ...s.transfer,
        counts: unlessClosed(() => s.transfer.counts(), { stream: 0, event: 0, snapshot: 0, message: 0, checkpoint: 0 }),
        check: (r) => unlessClosed(() => s.transfer.check(r), [])(),
      },
    }),
    mustFail: [
      'lifecycle.close.checkpoints-acquire-lease-rejects',
      'lifecycle.close.checkpoints-release-lease-rejects',
      'lifecycle.close.transfer-counts-rejects',
      'lifecycle.close.transfer-check-rejects',
    ],
  },
  ...Object.fromEntries(
    parts.map((part): [string, BrokenAdapter] => [
      `lets a settled transaction's ${part} run on the store`,
      { breakage: settledPartWorks(part), mustFail: callIds('transactions', `${part}.`) },
    ]),
  ),
  'names no operation in its CLOSED errors': {
    breakage: (s) => {
      const anonymous = () => new StrataError('CLOSED', 'the store is closed');
      const wrapped = closedErrors(anonymous)(s);
      return { ...wrapped, transaction: (fn) => wrapped.transaction(fn).catch((e: unknown) => Promise.reject(isStrataError(e, 'CLOSED') ? anonymous() : e)) };
    },
    mustFail: [
      ...callIds('lifecycle', ''),
      ...callIds('transactions', ''),
      'lifecycle.close.transaction-rejects',
      ...contractIterators.map((i) => `lifecycle.close.${slug(i.operation)}-iterator-stops`),
      ...contractIterators.map((i) => `transactions.settled.${slug(i.operation)}-iterator-stops`),
    ],
  },
  'names queue.ack in the CLOSED errors of queue.ackMany': {
    breakage: closedErrors((operation) => new StoreClosedError(operation === 'queue.ackMany' ? 'queue.ack' : operation)),
    mustFail: ['lifecycle.close.queue-ack-many-rejects', 'transactions.settled.queue-ack-many-rejects'],
  },
  'says the store is closed where a settled transaction is': {
    breakage: closedErrors((operation) => new StoreClosedError(operation)),
    mustFail: [...callIds('transactions', ''), ...contractIterators.map((i) => `transactions.settled.${slug(i.operation)}-iterator-stops`)],
  },
  'reads whole streams at once (an open iterator outlives close and the transaction)': {
    breakage: everywhere((part, name, method) => {
      if (!(part === 'events' && (name === 'readAll' || name === 'readStream')) && !(part === 'transfer' && name === 'export')) return method;
      return (...args) =>
        (async function* () {
          const all: unknown[] = [];
          for await (const item of method(...args) as AsyncIterable<unknown>) all.push(item);
          yield* all;
        })();
    }),
    mustFail: [
      'lifecycle.close.reading-iterator-stops',
      ...contractIterators.map((i) => `lifecycle.close.${slug(i.operation)}-iterator-stops`),
      ...contractIterators.map((i) => `transactions.settled.${slug(i.operation)}-iterator-stops`),
    ],
  },
  'ignores close() made inside its own transaction': {
    breakage: (s) => ({
      ...s,
      close: () =>
        s.close().catch((error: unknown) => {
          if (!isStrataError(error, 'VALIDATION')) throw error;
        }),
    }),
    mustFail: ['transactions.misuse.close-inside-own-transaction-rejects'],
  },
  'names no method when transaction() is called inside its own callback': {
    breakage: (s) => ({
      ...s,
      transaction: (fn) =>
        s.transaction(fn).catch((error: unknown) => {
          throw isStrataError(error, 'VALIDATION') && error.message.startsWith('store.transaction ')
            ? new ValidationError('store', 'was called inside a transaction')
            : error;
        }),
    }),
    mustFail: ['transactions.misuse.store-inside-own-transaction-rejects'],
  },
  'rejects a second close()': {
    breakage: (s) => {
      let calls = 0;
      return {
        ...s,
        close: () => (calls++ === 0 ? s.close() : Promise.reject(new StoreClosedError('close'))),
      };
    },
    mustFail: ['lifecycle.close.twice-is-fine', 'transactions.close.calls-waiting-for-it-settle'],
  },
  'makes every call wait for a running transaction, then fails it at close() with an unnamed CLOSED': {
    // Like an adapter with one connection, where every call queues behind the transaction: the waiting
    // calls must then reject naming their operation.
    breakage: (s) => {
      let running: Promise<unknown> = Promise.resolve();
      let closed = false;
      const waitThen = (method: (...args: unknown[]) => unknown, args: unknown[]) =>
        running.then(() => {
          if (closed) throw new StrataError('CLOSED', 'the store is closed');
          return method(...args);
        });
      const iterators = new Set(contractIterators.map((i) => i.operation));
      const waiting = mapContracts(s, (part, name, method) =>
        iterators.has(`${part}.${name}`)
          ? (...args) =>
              (async function* () {
                yield* (await waitThen(method, args)) as AsyncIterable<unknown>;
              })()
          : (...args) => waitThen(method, args),
      );
      return {
        ...waiting,
        transaction: (fn) => {
          const done = s.transaction(fn);
          running = done.catch(() => undefined);
          return done;
        },
        close: () => {
          closed = true;
          return s.close();
        },
      };
    },
    mustFail: contractCalls.map((c) => `transactions.close.${slug(c.operation)}-waiting-settles`),
  },
  'resolves calls interrupted by close() as if they had done their work': {
    breakage: everywhere((part, name, method) => (...args) => {
      const result = method(...args);
      if (!(result instanceof Promise) || !['events.append', 'queue.send', 'checkpoints.acquireLease'].includes(`${part}.${name}`)) return result;
      return result.catch((error: unknown) => {
        if (isStrataError(error, 'CLOSED')) return undefined;
        throw error;
      });
    }),
    mustFail: [
      'transactions.close.events-append-waiting-settles',
      'transactions.close.queue-send-waiting-settles',
      'transactions.close.checkpoints-acquire-lease-waiting-settles',
      'transactions.close.calls-waiting-for-it-settle',
    ],
  },
  'fails calls waiting for a transaction at close() with INTERNAL': {
    breakage: everywhere((part, name, method) => (...args) => {
      const result = method(...args);
      if (!(result instanceof Promise) || part !== 'events' || name !== 'append') return result;
      return result.catch((error: unknown) => {
        throw isStrataError(error, 'CLOSED') ? new StrataError('INTERNAL', 'events.append: interrupted') : error;
      });
    }),
    mustFail: ['transactions.close.calls-waiting-for-it-settle'],
  },
};

describeBrokenAdapters('broken adapters: state that outlives its store or transaction', broken);

// Where transactions are off (which describeBrokenAdapters' intact run does not cover): the refusal
// names the operation and the capability.
describe('broken adapters: refusing transactions', () => {
  const run = (breakage: Breakage) =>
    checkConformance(
      {
        name: 'without transactions',
        factory: (settings) => breakage(createMemoryStore({ ...settings, disable: ['transactions'] })),
        teardown: () => undefined,
      },
      (c) => c.id === 'transactions.not-supported',
    );
  it('fails an adapter that names neither operation nor capability', async () => {
    const outcomes = await run((s) => ({ ...s, transaction: () => Promise.reject(new StrataError('NOT_SUPPORTED', 'not supported')) }));
    expect(outcomes.map((o) => [o.id, o.passed])).toEqual([['transactions.not-supported', false]]);
  });
  it('passes the intact memory adapter without transactions', async () => {
    const outcomes = await run((s) => s);
    expect(outcomes.map((o) => [o.id, o.passed])).toEqual([['transactions.not-supported', true]]);
  });
});
