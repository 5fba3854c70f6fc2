import type { Capabilities } from '../capabilities.js';
import { isStrataError, type StrataError } from '../errors.js';
import type { AppendResult } from '../events/types.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import { assert, collect, defineCases, evt, evts, fingerprint, rejects, show, sleep } from './helpers.js';
import { contractCalls, contractIterators, prepareCalls, rejectsClosed, resumeRejectsClosed, slug, tableCases } from './lifecycle.cases.js';
import type { CaseContext } from './types.js';

const on = { requires: (c: { transactions: boolean }) => c.transactions };

/** A table's rows, each needing transactions besides its own capability. */
function withTransactions<T extends { requires?: (caps: Readonly<Capabilities>) => boolean }>(rows: readonly T[]): T[] {
  return rows.map((row) => ({ ...row, requires: (caps: Readonly<Capabilities>) => caps.transactions && (row.requires?.(caps) ?? true) }));
}

/** A transaction that committed and one that rolled back, each kept past its end. */
async function settledTransactions(
  store: StrataStore,
  inside: (tx: StoreTransaction) => Promise<void> = async () => undefined,
): Promise<[string, StoreTransaction][]> {
  let committed: StoreTransaction | undefined;
  let rolledBack: StoreTransaction | undefined;
  await store.transaction(async (tx) => {
    committed = tx;
    await inside(tx);
  });
  const rollback = new Error('rolled back');
  await store
    .transaction(async (tx) => {
      rolledBack = tx;
      await inside(tx);
      throw rollback;
    })
    .catch((error: unknown) => assert.equal(error, rollback));
  assert.ok(committed && rolledBack);
  return [
    ['committed', committed],
    ['rolled back', rolledBack],
  ];
}

/** Writes to every contract the adapter offers, inside `tx`. */
async function writeEverything(ctx: CaseContext, tx: StoreTransaction): Promise<void> {
  await tx.events.append('s', evts(2), { expectedVersion: 'no_stream' });
  await tx.events.append('other', evts(1));
  if (ctx.caps.queue) await tx.queue.send('q', { body: 'outbox' });
  if (ctx.caps.snapshots) await tx.snapshots.save('s', { version: 2, state: { n: 2 } });
  if (ctx.caps.checkpoints) await tx.checkpoints.set('c', 2n, { expected: null });
}

/**
 * A transaction that writes with `write`, then stays open until `commit()` is called, so that a case
 * can act from outside its callback while it runs.
 */
function holdOpen(store: StrataStore, write: (tx: StoreTransaction) => Promise<unknown>): { written: Promise<void>; commit(): Promise<void> } {
  let wrote!: () => void;
  let release!: () => void;
  const written = new Promise<void>((resolve) => (wrote = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const done = store.transaction(async (tx) => {
    await write(tx);
    wrote();
    await gate;
  });
  // A failing transaction must not leave the case waiting for `written`.
  const failed = done.then(
    () => undefined,
    (error: unknown) => {
      throw error;
    },
  );
  return {
    written: Promise.race([written, failed]),
    async commit() {
      release();
      await done;
    },
  };
}

/** Settles as `promise` does, or fails the case when it does not settle within `ms`: a wedged store. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what} did not settle within ${ms} ms: the store is wedged` })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls on the store itself (not `tx`), by the name the error must give, for the adapter's capabilities. */
function storeCalls(ctx: CaseContext): [string, (store: StrataStore) => Promise<unknown>][] {
  const calls: [string, (store: StrataStore) => Promise<unknown>][] = [
    ['events.append', (s) => s.events.append('s', evts(1))],
    ['events.readStream', (s) => collect(s.events.readStream('s'))],
    ['events.readAll', (s) => collect(s.events.readAll())],
    ['events.streamInfo', (s) => s.events.streamInfo('s')],
    ['events.headPosition', (s) => s.events.headPosition()],
    ['transaction', (s) => s.transaction(async (tx) => tx.events.append('s', evts(1)))],
  ];
  if (ctx.caps.queue) {
    calls.push(
      ['queue.send', (s) => s.queue.send('q', { body: 1 })],
      ['queue.receive', (s) => s.queue.receive('q')],
      ['queue.stats', (s) => s.queue.stats('q')],
    );
  }
  if (ctx.caps.snapshots)
    calls.push(['snapshots.save', (s) => s.snapshots.save('s', { version: 1, state: 1 })], ['snapshots.load', (s) => s.snapshots.load('s')]);
  if (ctx.caps.checkpoints)
    calls.push(
      ['checkpoints.set', (s) => s.checkpoints.set('c', 1n)],
      ['checkpoints.get', (s) => s.checkpoints.get('c')],
      ['checkpoints.list', (s) => s.checkpoints.list()],
    );
  return calls;
}

export const transactionCases = defineCases('transactions', {
  // Every method of every sub-store of a settled transaction rejects, naming the operation, and writes nothing.
  ...tableCases(
    withTransactions(contractCalls),
    (c) => `settled.${slug(c.operation)}-rejects`,
    (c) =>
      async function run(ctx) {
        const args = await prepareCalls(ctx.store);
        const before = await fingerprint(ctx);
        for (const [how, tx] of await settledTransactions(ctx.store)) {
          await rejectsClosed(() => c.call(tx, args), c.operation, 'transaction').catch((error: unknown) => {
            throw new assert.AssertionError({ message: `on a transaction that ${how}: ${(error as Error).message}` });
          });
        }
        assert.deepEqual(await fingerprint(ctx), before, 'calls on settled transactions wrote nothing');
      },
  ),
  // An iterator a transaction opened may finish its page after the transaction settled, then rejects.
  ...tableCases(
    withTransactions(contractIterators),
    (i) => `settled.${slug(i.operation)}-iterator-stops`,
    (i) =>
      async function run({ store, settings }) {
        await store.events.append('s', evts(settings.readPageSize * 3));
        const iterators: AsyncIterator<unknown>[] = [];
        await settledTransactions(store, async (tx) => {
          const iterator = i.open(tx, settings.readPageSize);
          assert.equal((await iterator.next()).done, false);
          iterators.push(iterator);
        });
        for (const iterator of iterators) await resumeRejectsClosed(iterator, i.operation, settings.readPageSize * 3 + 2, 'transaction');
      },
  ),
  'close.calls-waiting-for-it-settle': {
    // close() while a transaction runs. Calls made before it (waiting for the transaction on adapters that
    // serialize writes, beside it elsewhere) complete, whole, or reject with CLOSED naming their
    // operation; none hangs. Calls made after close() reject at once; the open transaction commits or
    // rejects with CLOSED; close() resolves, twice.
    ...on,
    async run({ store, caps, ms }) {
      const open = holdOpen(store, (tx) => tx.events.append('a', evts(1)));
      await open.written;
      const calls: [string[], Promise<unknown>][] = [
        [['events.append'], store.events.append('b', evts(2))],
        [['transaction', 'events.append'], store.transaction((tx) => tx.events.append('c', evts(1)))],
      ];
      if (caps.queue) calls.push([['queue.send'], store.queue.send('q', [{ body: 1 }, { body: 2 }])]);
      const outcomes = Promise.all(
        calls.map(([operations, call]) =>
          call.then(
            (value) => ({ operations, value, error: undefined }),
            (error: unknown) => ({ operations, value: undefined, error }),
          ),
        ),
      );
      await sleep(ms(20));
      const closing = Promise.all([store.close(), store.close()]);
      await rejectsClosed(() => store.events.headPosition(), 'events.headPosition');
      const txError = await within(
        ms(10_000),
        open.commit().then(
          () => undefined,
          (error: unknown) => error,
        ),
        'the transaction open at close()',
      );
      if (txError !== undefined)
        assert.ok(isStrataError(txError, 'CLOSED'), `the transaction open at close() commits or rejects with CLOSED, not ${show(txError)}`);
      await within(ms(10_000), closing, 'close() while a transaction runs');
      for (const { operations, value, error } of await within(ms(10_000), outcomes, 'calls waiting at close()')) {
        const [operation] = operations;
        if (error === undefined) {
          // A transaction accepted before close() may still run (its callback starting after it): whole.
          if (operation === 'transaction') assert.equal((value as AppendResult).version, 1, 'a waiting transaction that completed wrote its event');
          if (operation === 'events.append') assert.equal((value as AppendResult).version, 2, 'a waiting append that completed wrote all its events');
          if (operation === 'queue.send') assert.equal((value as string[]).length, 2, 'a waiting send that completed sent all its messages');
          continue;
        }
        assert.ok(isStrataError(error, 'CLOSED'), `${operation} waiting at close() completes or rejects with CLOSED, not ${show(error)}`);
        assert.ok(
          operations.some((o) => error.message.startsWith(`${o}: `)),
          `the CLOSED error of ${operation} begins with its operation's name: ${show(error.message)}`,
        );
      }
      await store.close();
      await rejectsClosed(() => store.events.append('d', evts(1)), 'events.append');
    },
  },
  // Every method called while a transaction runs, then close(): it completes, or (on adapters that make
  // calls wait for the transaction) rejects with CLOSED naming its operation — never anything else, and
  // never hangs. The same as above, for each method alone.
  ...tableCases(
    withTransactions(contractCalls),
    (c) => `close.${slug(c.operation)}-waiting-settles`,
    (c) =>
      async function run({ store, ms }) {
        const args = await prepareCalls(store);
        const open = holdOpen(store, (tx) => tx.events.append('held', evts(1)));
        await open.written;
        const call = c.call(store, args).then(
          (value) => {
            c.completed?.(value);
            return undefined;
          },
          (error: unknown) => error,
        );
        await sleep(ms(20));
        const closing = store.close();
        await within(
          ms(10_000),
          open.commit().catch(() => undefined),
          'the transaction open at close()',
        );
        await within(ms(10_000), closing, 'close() while a transaction runs');
        // A call that completed returned what it does on an open store (checked above, where the table says how).
        const error = await within(ms(10_000), call, `${c.operation} waiting at close()`);
        if (error === undefined) return;
        assert.ok(isStrataError(error, 'CLOSED'), `${c.operation} waiting at close() completes or rejects with CLOSED, not ${show(error)}`);
        assert.ok(error.message.startsWith(`${c.operation}: `), `the CLOSED error of ${c.operation} begins with its operation's name: ${show(error.message)}`);
      },
  ),
  'commit.every-contract-visible': {
    ...on,
    async run(ctx) {
      await ctx.store.transaction((tx) => writeEverything(ctx, tx));
      assert.equal((await ctx.store.events.streamInfo('s'))?.version, 2);
      assert.equal((await collect(ctx.store.events.readAll())).length, 3);
      if (ctx.caps.queue)
        assert.deepEqual(
          (await ctx.store.queue.receive('q')).map((d) => d.body),
          ['outbox'],
        );
      if (ctx.caps.snapshots) assert.equal((await ctx.store.snapshots.load('s'))?.version, 2);
      if (ctx.caps.checkpoints) assert.equal((await ctx.store.checkpoints.get('c'))?.position, 2n);
    },
  },
  'commit.returns-fn-result': {
    ...on,
    async run({ store }) {
      const r = await store.transaction(async (tx) => {
        const a = await tx.events.append('s', evts(1));
        return { version: a.version, tag: 'done' };
      });
      assert.deepEqual(r, { version: 1, tag: 'done' });
    },
  },
  'rollback.on-throw-leaves-nothing': {
    ...on,
    async run(ctx) {
      const before = await fingerprint(ctx);
      const boom = new Error('boom');
      let caught: unknown;
      try {
        await ctx.store.transaction(async (tx) => {
          await writeEverything(ctx, tx);
          throw boom;
        });
      } catch (error) {
        caught = error;
      }
      assert.equal(caught, boom, 'the original error is rethrown');
      assert.deepEqual(await fingerprint(ctx), before);
      if (ctx.caps.queue) assert.deepEqual(await ctx.store.queue.receive('q'), []);
    },
  },
  'rollback.on-concurrency-error-inside': {
    ...on,
    async run(ctx) {
      await ctx.store.events.append('s', evts(1));
      const before = await fingerprint(ctx);
      await rejects(
        ctx.store.transaction(async (tx) => {
          await tx.events.append('other', evts(3));
          await tx.events.append('s', evts(1), { expectedVersion: 5 });
        }),
        'CONCURRENCY',
      );
      assert.deepEqual(await fingerprint(ctx), before);
      assert.equal(await ctx.store.events.streamInfo('other'), null);
    },
  },
  'rollback.positions-stay-ordered': {
    ...on,
    async run({ store }) {
      await store.events.append('a', evts(1));
      await store
        .transaction(async (tx) => {
          await tx.events.append('b', evts(2));
          throw new Error('rolled back');
        })
        .catch(() => undefined);
      await store.events.append('c', evts(1));
      const all = await collect(store.events.readAll());
      assert.deepEqual(
        all.map((e) => e.streamId),
        ['a', 'c'],
      );
      assert.ok((all[1]?.position ?? 0n) > (all[0]?.position ?? 0n));
    },
  },
  'reads-own-appends-after-committed-events': {
    // readAll inside a transaction: the committed events, then the transaction's own appends after them, in
    // position order, across pages and from a position among them (found by mutation testing).
    ...on,
    async run({ store, settings }) {
      const committed = settings.readPageSize + 3;
      await store.events.append('a', evts(committed));
      await store.transaction(async (tx) => {
        await tx.events.append('b', evts(2));
        const all = await collect(tx.events.readAll());
        assert.deepEqual(
          all.map((e) => `${e.streamId}#${e.version}`),
          [...Array.from({ length: committed }, (_, i) => `a#${i + 1}`), 'b#1', 'b#2'],
          'the committed events, then the transaction’s own',
        );
        const positions = all.map((e) => e.position);
        assert.ok(
          positions.every((p, i) => i === 0 || p > (positions[i - 1] as bigint)),
          'in position order',
        );
        const head = all[committed - 1]?.position ?? 0n;
        assert.deepEqual(
          (await collect(tx.events.readAll({ after: head }))).map((e) => `${e.streamId}#${e.version}`),
          ['b#1', 'b#2'],
          'after the last committed event: only the transaction’s own',
        );
      });
    },
  },
  'reads-own-writes': {
    ...on,
    async run(ctx) {
      await ctx.store.transaction(async (tx) => {
        await tx.events.append('s', evts(2));
        assert.equal((await tx.events.streamInfo('s'))?.version, 2);
        assert.equal((await collect(tx.events.readStream('s'))).length, 2);
        assert.equal((await collect(tx.events.readAll())).length, 2);
        if (ctx.caps.queue) {
          await tx.queue.send('q', { body: 1 });
          assert.equal((await tx.queue.stats('q')).ready, 1);
        }
        if (ctx.caps.snapshots) {
          await tx.snapshots.save('s', { version: 2, state: 'x' });
          assert.equal((await tx.snapshots.load('s'))?.state, 'x');
        }
        if (ctx.caps.checkpoints) {
          await tx.checkpoints.set('c', 9n);
          assert.equal((await tx.checkpoints.get('c'))?.position, 9n);
        }
      });
    },
  },
  'isolation.uncommitted-events-invisible-outside': {
    ...on,
    async run({ store, ms }) {
      const open = holdOpen(store, (tx) => tx.events.append('s', evts(3)));
      await open.written;
      // Read from outside the callback (the store itself may not be used inside it).
      const outside = Promise.all([
        collect(store.events.readAll()).then((a) => a.length),
        collect(store.events.readStream('s')).then((a) => a.length),
        store.events.headPosition(),
      ]);
      const settledInside = await Promise.race([outside.then(() => true), sleep(ms(50)).then(() => false)]);
      await open.commit();
      const [all, stream, head] = await outside;
      if (settledInside) assert.deepEqual([all, stream, head], [0, 0, 0n], 'a read during the transaction saw uncommitted events');
      else assert.ok(all === 0 || all === 3, 'a read that waited for the commit sees all or nothing');
      assert.equal((await collect(store.events.readAll())).length, 3);
    },
  },
  'isolation.outbox-message-invisible-until-commit': {
    requires: (c) => c.transactions && c.queue,
    async run({ store, ms }) {
      const open = holdOpen(store, (tx) => tx.queue.send('q', { body: 'outbox' }));
      await open.written;
      const outside = store.queue.receive('q', { max: 5 }).then((ds) => ds.map((d) => d.body));
      const settledInside = await Promise.race([outside.then(() => true), sleep(ms(50)).then(() => false)]);
      await open.commit();
      const got = await outside;
      if (settledInside) assert.deepEqual(got, [], 'a receive during the transaction got an uncommitted message');
      const rest = await store.queue.receive('q', { max: 5 });
      assert.equal(got.length + rest.length, 1, 'the message is delivered once after commit');
    },
  },
  'concurrent.same-expected-version-one-commits': {
    ...on,
    async run({ store }) {
      const tries = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.events.append('s', [evt('T', { i })], { expectedVersion: 'no_stream' });
            await tx.events.append(`side-${i}`, evts(1));
          }),
        ),
      );
      assert.equal(tries.filter((t) => t.status === 'fulfilled').length, 1);
      for (const t of tries) if (t.status === 'rejected') assert.equal((t.reason as { code?: string }).code, 'CONCURRENCY');
      assert.equal((await collect(store.events.readAll())).length, 2, 'losers left no side writes');
    },
  },
  'concurrent.independent-transactions-all-commit': {
    ...on,
    async run({ store }) {
      await Promise.all(Array.from({ length: 6 }, (_, i) => store.transaction((tx) => tx.events.append(`s-${i}`, evts(2)))));
      const all = await collect(store.events.readAll());
      assert.equal(all.length, 12);
      for (let i = 1; i < all.length; i++) assert.ok((all[i]?.position ?? 0n) > (all[i - 1]?.position ?? 0n));
    },
  },
  'finished-transaction-is-closed': {
    ...on,
    async run({ store }) {
      let kept: StoreTransaction | undefined;
      await store.transaction(async (tx) => {
        kept = tx;
      });
      assert.ok(kept);
      await rejects(kept.events.append('s', evts(1)), 'CLOSED');
      await rejects(kept.events.streamInfo('s'), 'CLOSED');
      let rolledBack: StoreTransaction | undefined;
      await store
        .transaction(async (tx) => {
          rolledBack = tx;
          throw new Error('x');
        })
        .catch(() => undefined);
      assert.ok(rolledBack);
      await rejects(rolledBack.events.append('s', evts(1)), 'CLOSED');
      assert.equal(await store.events.streamInfo('s'), null);
    },
  },
  'validation-inside-rolls-back': {
    ...on,
    async run(ctx) {
      const before = await fingerprint(ctx);
      await rejects(
        ctx.store.transaction(async (tx) => {
          await tx.events.append('s', evts(1));
          await tx.events.append('', evts(1));
        }),
        'VALIDATION',
      );
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
  'misuse.store-inside-own-transaction-rejects': {
    ...on,
    async run(ctx) {
      const { store, ms } = ctx;
      const before = await fingerprint(ctx);
      const calls = storeCalls(ctx);
      const result = await within(
        ms(10_000),
        store.transaction(async (tx) => {
          await tx.events.append('inside', evts(1));
          for (const [name, call] of calls) {
            const error: StrataError = await within(
              ms(2000),
              rejects(() => call(store), 'VALIDATION'),
              `store.${name} inside the transaction`,
            );
            assert.ok(error.message.includes(`store.${name}`), `the message names the method store.${name}: ${error.message}`);
            assert.match(error.message, /\btx\b/, `the message says to use tx: ${error.message}`);
          }
          return 'committed';
        }),
        'the transaction',
      );
      assert.equal(result, 'committed');
      // The rejected calls wrote nothing; the transaction's own write committed.
      assert.equal((await store.events.streamInfo('inside'))?.version, 1);
      const after = (await fingerprint(ctx)) as { all: string[] };
      assert.deepEqual(
        { ...after, all: after.all.filter((e) => !e.startsWith('inside#')), head: null, raw: null },
        { ...(before as object), head: null, raw: null },
      );
      // The store stays usable.
      await store.events.append('s', evts(1));
      await store.transaction((tx) => tx.events.append('s', evts(1)));
      assert.equal((await store.events.streamInfo('s'))?.version, 2);
    },
  },
  'misuse.store-inside-own-transaction-rolls-back': {
    ...on,
    async run(ctx) {
      const { store, ms } = ctx;
      const before = await fingerprint(ctx);
      const error = await within(
        ms(10_000),
        rejects(
          store.transaction(async (tx) => {
            await tx.events.append('s', evts(1));
            await store.events.append('s', evts(1));
          }),
          'VALIDATION',
        ),
        'the transaction',
      );
      assert.ok(error.message.includes('events.append'), error.message);
      assert.deepEqual(await fingerprint(ctx), before, 'the transaction rolled back');
      await within(ms(5000), store.events.append('s', evts(2), { expectedVersion: 'no_stream' }), 'an append after the misuse');
      assert.equal((await store.events.streamInfo('s'))?.version, 2);
    },
  },
  'misuse.close-inside-own-transaction-rejects': {
    // close() from inside the callback would wait for the transaction that waits for it: refused at once,
    // and the store stays open.
    ...on,
    async run({ store, ms }) {
      const result = await within(
        ms(10_000),
        store.transaction(async (tx) => {
          await tx.events.append('inside', evts(1));
          const error = await within(ms(2000), rejects(store.close(), 'VALIDATION'), 'store.close inside the transaction');
          assert.ok(error.message.includes('store.close'), `the message names store.close: ${show(error.message)}`);
          return 'committed';
        }),
        'the transaction',
      );
      assert.equal(result, 'committed');
      assert.equal((await store.events.append('inside', evts(1))).version, 2, 'the store is still open');
    },
  },
  'misuse.closed-store-says-closed-inside-a-callback': {
    // The store is closed from elsewhere while a callback runs: a call on the store from inside the callback
    // meets a closed store first, and says CLOSED as every call after close() does, not the misuse error of
    // an open store. The transaction itself still completes: close() waits for it.
    ...on,
    async run({ store, ms }) {
      let closing: Promise<void> | undefined;
      let startClosing = () => undefined as void;
      // Made before the transaction, so close() runs outside the callback's context.
      const elsewhere = new Promise<void>((resolve) => {
        startClosing = resolve;
      }).then(() => {
        closing = store.close();
      });
      const result = await within(
        ms(10_000),
        store.transaction(async (tx) => {
          await tx.events.append('inside', evts(1));
          startClosing();
          await elsewhere;
          await within(
            ms(2000),
            rejects(
              store.transaction(async () => undefined),
              'CLOSED',
            ),
            'store.transaction inside, once closed',
          );
          await within(ms(2000), rejects(store.events.append('s', evts(1)), 'CLOSED'), 'store.events.append inside, once closed');
          return 'committed';
        }),
        'the transaction',
      );
      assert.equal(result, 'committed');
      await within(ms(10_000), closing ?? Promise.reject(new Error('close() was never called')), 'close()');
    },
  },
  'misuse.unrelated-calls-wait-their-turn': {
    ...on,
    async run({ store, ms }) {
      const open = holdOpen(store, (tx) => tx.events.append('a', evts(1)));
      await open.written;
      // Not made from inside the callback: these wait for the transaction (or run beside it), and succeed.
      const outside = Promise.all([store.events.append('b', evts(1)), store.transaction((tx) => tx.events.append('c', evts(1)))]);
      await sleep(ms(20));
      await within(ms(10_000), open.commit(), 'the transaction');
      await within(ms(10_000), outside, 'calls made outside the transaction');
      assert.deepEqual((await collect(store.events.readAll())).map((e) => e.streamId).sort(), ['a', 'b', 'c']);
    },
  },
  'not-supported': {
    requires: (c) => !c.transactions,
    async run(ctx) {
      let called = false;
      const before = await fingerprint(ctx);
      const error = await rejects(
        ctx.store.transaction(async () => {
          called = true;
        }),
        'NOT_SUPPORTED',
      );
      assert.equal(called, false);
      assert.match(error.message, /^transaction\b/, `the message names the operation first: ${show(error.message)}`);
      assert.ok(error.message.includes('transactions'), `the message names the capability that is off: ${show(error.message)}`);
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
});
