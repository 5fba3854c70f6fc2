import type { StoreTransaction } from '../store.js';
import { assert, collect, defineCases, evt, evts, fingerprint, rejects, sleep } from './helpers.js';
import type { CaseContext } from './types.js';

const on = { requires: (c: { transactions: boolean }) => c.transactions };

/** Writes to every contract the adapter offers, inside `tx`. */
async function writeEverything(ctx: CaseContext, tx: StoreTransaction): Promise<void> {
  await tx.events.append('s', evts(2), { expectedVersion: 'no_stream' });
  await tx.events.append('other', evts(1));
  if (ctx.caps.queue) await tx.queue.send('q', { body: 'outbox' });
  if (ctx.caps.snapshots) await tx.snapshots.save('s', { version: 2, state: { n: 2 } });
  if (ctx.caps.checkpoints) await tx.checkpoints.set('c', 2n, { expected: null });
}

export const transactionCases = defineCases('transactions', {
  'commit.every-contract-visible': {
    ...on,
    async run(ctx) {
      await ctx.store.transaction((tx) => writeEverything(ctx, tx));
      assert.equal((await ctx.store.events.streamInfo('s'))?.version, 2);
      assert.equal((await collect(ctx.store.events.readAll())).length, 3);
      if (ctx.caps.queue) assert.deepEqual((await ctx.store.queue.receive('q')).map((d) => d.body), ['outbox']);
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
      await store.transaction(async (tx) => {
        await tx.events.append('b', evts(2));
        throw new Error('rolled back');
      }).catch(() => undefined);
      await store.events.append('c', evts(1));
      const all = await collect(store.events.readAll());
      assert.deepEqual(all.map((e) => e.streamId), ['a', 'c']);
      assert.ok((all[1]?.position ?? 0n) > (all[0]?.position ?? 0n));
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
      let outside: Promise<[number, number, bigint]> | undefined;
      let settledInside = false;
      await store.transaction(async (tx) => {
        await tx.events.append('s', evts(3));
        outside = Promise.all([
          collect(store.events.readAll()).then((a) => a.length),
          collect(store.events.readStream('s')).then((a) => a.length),
          store.events.headPosition(),
        ]);
        let settled = false;
        await Promise.race([outside.then(() => (settled = true)), sleep(ms(50))]);
        settledInside = settled;
      });
      const [all, stream, head] = (await outside) ?? [-1, -1, -1n];
      if (settledInside) assert.deepEqual([all, stream, head], [0, 0, 0n], 'a read during the transaction saw uncommitted events');
      else assert.ok(all === 0 || all === 3, 'a read that waited for the commit sees all or nothing');
      assert.equal((await collect(store.events.readAll())).length, 3);
    },
  },
  'isolation.outbox-message-invisible-until-commit': {
    requires: (c) => c.transactions && c.queue,
    async run({ store, ms }) {
      let outside: Promise<unknown[]> | undefined;
      let settledInside = false;
      await store.transaction(async (tx) => {
        await tx.queue.send('q', { body: 'outbox' });
        outside = store.queue.receive('q', { max: 5 }).then((ds) => ds.map((d) => d.body));
        let settled = false;
        await Promise.race([outside.then(() => (settled = true)), sleep(ms(50))]);
        settledInside = settled;
      });
      const got = (await outside) ?? [];
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
  'not-supported': {
    requires: (c) => !c.transactions,
    async run(ctx) {
      let called = false;
      const before = await fingerprint(ctx);
      await rejects(
        ctx.store.transaction(async () => {
          called = true;
        }),
        'NOT_SUPPORTED',
      );
      assert.equal(called, false);
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
});
