import type { ConcurrencyError } from '../errors.js';
import type { StoreTransaction } from '../store.js';
import type { Checkpoint } from '../subscriptions/types.js';
import { assertWithin } from './clock.js';
import { assert, defineCases, fingerprint, rejects, sleep } from './helpers.js';

const on = { requires: (c: { checkpoints: boolean }) => c.checkpoints };

/**
 * Consumer names in the order `list()` must give them: UTF-8 byte order. Case before case-insensitive
 * ('B' < 'a'), a prefix before its extensions, punctuation by byte ('-' < '_' < 'b'), 'é' after 'z' (no
 * locale), and U+FF21 (one UTF-16 unit, 0xFF21) before U+1F600 (a surrogate pair starting 0xD83D):
 * JavaScript's default sort gets that last pair the other way round.
 */
const ORDERED = ['B', 'a', 'a-b', 'a_b', 'ab', 'b', 'z', '\u00e9', '\uff21', '\u{1f600}', '\u{1f600}x'];

/** The consumers and positions of a list, for comparing. */
const named = (list: Checkpoint[]) => list.map((c) => [c.consumer, c.position]);

export const checkpointCases = defineCases('checkpoints', {
  'get.missing-is-null': {
    ...on,
    async run({ store }) {
      assert.equal(await store.checkpoints.get('c'), null);
    },
  },
  'set.creates-and-reads-back': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 42n);
      const cp = await store.checkpoints.get('c');
      assert.equal(cp?.consumer, 'c');
      assert.equal(cp?.position, 42n);
      assert.ok(cp?.updatedAt instanceof Date);
    },
  },
  'set.unconditional-overwrites': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 5n);
      await store.checkpoints.set('c', 3n);
      assert.equal((await store.checkpoints.get('c'))?.position, 3n);
    },
  },
  'set.updated-at-is-when-set': {
    ...on,
    async run({ store, ms }) {
      const before = Date.now();
      await store.checkpoints.set('c', 1n);
      const after = Date.now();
      const first = await store.checkpoints.get('c');
      assertWithin(first?.updatedAt, before, after, 'updatedAt of a new checkpoint');
      await sleep(ms(30));
      const beforeMove = Date.now();
      await store.checkpoints.set('c', 2n, { expected: 1n });
      const afterMove = Date.now();
      const moved = await store.checkpoints.get('c');
      assertWithin(moved?.updatedAt, beforeMove, afterMove, 'updatedAt after a second set');
      assert.ok((moved?.updatedAt.getTime() ?? 0) > (first?.updatedAt.getTime() ?? 0), 'a second set moves updatedAt');
      await sleep(ms(30));
      await rejects(store.checkpoints.set('c', 3n, { expected: 1n }), 'CONCURRENCY');
      await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: 60_000 });
      const kept = await store.checkpoints.get('c');
      assert.equal(kept?.updatedAt.getTime(), moved?.updatedAt.getTime(), 'a failed set and a lease leave updatedAt');
      const [listed] = await store.checkpoints.list();
      assert.equal(listed?.updatedAt.getTime(), moved?.updatedAt.getTime(), 'list reports the same updatedAt');
    },
  },
  'set.expected-null-creates': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 7n, { expected: null });
      assert.equal((await store.checkpoints.get('c'))?.position, 7n);
    },
  },
  'set.expected-null-conflicts-when-present': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 7n);
      const e = (await rejects(store.checkpoints.set('c', 9n, { expected: null }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.actualPosition, 7n);
      assert.equal((await store.checkpoints.get('c'))?.position, 7n);
    },
  },
  'set.expected-matches': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 7n);
      await store.checkpoints.set('c', 12n, { expected: 7n });
      assert.equal((await store.checkpoints.get('c'))?.position, 12n);
    },
  },
  'set.expected-mismatch-conflicts': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 7n);
      const e = (await rejects(store.checkpoints.set('c', 12n, { expected: 6n }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.consumer, 'c');
      assert.equal(e.expectedPosition, 6n);
      assert.equal(e.actualPosition, 7n);
      assert.equal((await store.checkpoints.get('c'))?.position, 7n);
    },
  },
  'set.expected-on-missing-conflicts': {
    ...on,
    async run({ store }) {
      const e = (await rejects(store.checkpoints.set('c', 12n, { expected: 6n }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.actualPosition, null);
      assert.equal(await store.checkpoints.get('c'), null);
    },
  },
  'set.concurrent-one-wins': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 1n);
      const tries = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.checkpoints.set('c', BigInt(10 + i), { expected: 1n })));
      assert.equal(tries.filter((t) => t.status === 'fulfilled').length, 1);
    },
  },
  'set.large-positions': {
    ...on,
    async run({ store }) {
      const big = 9_007_199_254_740_993n; // above Number.MAX_SAFE_INTEGER
      await store.checkpoints.set('c', big);
      assert.equal((await store.checkpoints.get('c'))?.position, big);
      await store.checkpoints.set('c', big + 1n, { expected: big });
      assert.equal((await store.checkpoints.get('c'))?.position, big + 1n);
    },
  },
  'consumers-are-isolated': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('a', 1n);
      await store.checkpoints.set('b', 2n);
      await store.checkpoints.set("a'; drop table checkpoints; --", 3n);
      assert.equal((await store.checkpoints.get('a'))?.position, 1n);
      assert.equal((await store.checkpoints.get('b'))?.position, 2n);
      assert.equal((await store.checkpoints.get("a'; drop table checkpoints; --"))?.position, 3n);
    },
  },
  'list.empty': {
    ...on,
    async run({ store, probes }) {
      assert.deepEqual(await store.checkpoints.list(), []);
      if (probes) assert.equal((await probes.counts()).checkpoints, 0);
    },
  },
  'list.ordered': {
    ...on,
    async run({ store, probes }) {
      // Set out of order, so that an adapter returning insertion order (or JavaScript's sort) is caught.
      const order = [5, 0, 9, 2, 7, 10, 1, 3, 8, 4, 6];
      for (const i of order) await store.checkpoints.set(ORDERED[i] as string, BigInt(i * 10));
      await store.checkpoints.set('a', 9_007_199_254_740_993n); // overwritten; above Number.MAX_SAFE_INTEGER
      const list = await store.checkpoints.list();
      assert.deepEqual(
        named(list),
        ORDERED.map((name, i) => [name, name === 'a' ? 9_007_199_254_740_993n : BigInt(i * 10)]),
        'every checkpoint once, in UTF-8 byte order of the consumer names, at its latest position',
      );
      for (const cp of list) {
        assert.ok(cp.updatedAt instanceof Date && !Number.isNaN(cp.updatedAt.getTime()), `updatedAt of ${cp.consumer} is a valid Date`);
        const one = await store.checkpoints.get(cp.consumer);
        assert.equal(cp.updatedAt.getTime(), one?.updatedAt.getTime(), `list and get agree on updatedAt of ${cp.consumer}`);
      }
      if (probes) assert.equal((await probes.counts()).checkpoints, ORDERED.length);
      list.pop();
      assert.equal((await store.checkpoints.list()).length, ORDERED.length, 'the caller owns the array it got');
    },
  },
  'list.leases-are-not-checkpoints': {
    ...on,
    async run({ store }) {
      await store.checkpoints.acquireLease('leased', { owner: 'one', ttlMs: 60_000 });
      assert.deepEqual(await store.checkpoints.list(), []);
      await store.checkpoints.set('both', 1n);
      await store.checkpoints.acquireLease('both', { owner: 'one', ttlMs: 60_000 });
      assert.deepEqual(named(await store.checkpoints.list()), [['both', 1n]]);
    },
  },
  'list.in-transaction': {
    requires: (c) => c.checkpoints && c.transactions,
    async run({ store }) {
      await store.checkpoints.set('b', 1n);
      await store.transaction(async (tx) => {
        await tx.checkpoints.set('c', 3n);
        await tx.checkpoints.set('b', 2n, { expected: 1n });
        await tx.checkpoints.set('a', 1n);
        assert.deepEqual(
          named(await tx.checkpoints.list()),
          [
            ['a', 1n],
            ['b', 2n],
            ['c', 3n],
          ],
          'the transaction lists its own uncommitted checkpoints',
        );
      });
      const committed = [
        ['a', 1n],
        ['b', 2n],
        ['c', 3n],
      ];
      assert.deepEqual(named(await store.checkpoints.list()), committed);
      const boom = new Error('boom');
      let seen: unknown;
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.checkpoints.set('d', 4n);
          await tx.checkpoints.set('a', 9n);
          seen = named(await tx.checkpoints.list());
          throw boom;
        }),
        (e) => e === boom,
      );
      assert.deepEqual(seen, [...committed.map(([c, p]) => [c, c === 'a' ? 9n : p]), ['d', 4n]]);
      assert.deepEqual(named(await store.checkpoints.list()), committed, 'a rolled back transaction leaves none of its checkpoints');
    },
  },
  'list.after-close': {
    ...on,
    async run({ store }) {
      await store.checkpoints.set('c', 1n);
      await store.close();
      await rejects(store.checkpoints.list(), 'CLOSED');
    },
  },
  'list.after-transaction-settled': {
    requires: (c) => c.checkpoints && c.transactions,
    async run({ store }) {
      let committed: StoreTransaction | undefined;
      await store.transaction(async (tx) => {
        await tx.checkpoints.set('c', 1n);
        committed = tx;
      });
      assert.ok(committed);
      await rejects(committed.checkpoints.list(), 'CLOSED');
      let rolledBack: StoreTransaction | undefined;
      await store
        .transaction(async (tx) => {
          rolledBack = tx;
          throw new Error('x');
        })
        .catch(() => undefined);
      assert.ok(rolledBack);
      await rejects(rolledBack.checkpoints.list(), 'CLOSED');
    },
  },
  'lease.exclusive': {
    ...on,
    async run({ store }) {
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: 60_000 }), true);
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: 60_000 }), false);
      assert.equal(await store.checkpoints.acquireLease('other', { owner: 'two', ttlMs: 60_000 }), true);
    },
  },
  'lease.renewed-by-owner': {
    ...on,
    async run({ store, ms }) {
      // The check comes 1100 ms or more after the first lease began (it has ended, however fast the machine)
      // and about 400 ms into the renewal's 1000 (a stall of up to 600 ms leaves it holding).
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: ms(1000) }), true);
      await sleep(ms(700));
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: ms(1000) }), true);
      await sleep(ms(400));
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: ms(1000) }), false, 'renewal extended the lease');
    },
  },
  'lease.taken-over-after-expiry': {
    ...on,
    async run({ store, ms }) {
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: ms(60) }), true);
      await sleep(ms(120));
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: 60_000 }), true);
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: 60_000 }), false);
    },
  },
  'lease.renewal-counts-from-now': {
    // A renewal lasts ttlMs from the renewal, even when that ends sooner than the lease it renews.
    ...on,
    async run({ store, ms }) {
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: 60_000 }), true);
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: ms(1000) }), true);
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: 60_000 }), false, 'the renewed lease holds');
      await sleep(ms(1300));
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: 60_000 }), true, 'the renewed lease ended ttlMs after the renewal');
    },
  },
  'lease.release': {
    ...on,
    async run({ store }) {
      await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: 60_000 });
      await store.checkpoints.releaseLease('c', 'two');
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: 60_000 }), false, 'only the owner releases');
      await store.checkpoints.releaseLease('c', 'one');
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: 60_000 }), true);
    },
  },
  'lease.concurrent-one-wins': {
    ...on,
    async run({ store }) {
      const got = await Promise.all(Array.from({ length: 8 }, (_, i) => store.checkpoints.acquireLease('c', { owner: `o${i}`, ttlMs: 60_000 })));
      assert.equal(got.filter(Boolean).length, 1);
    },
  },
  'lease.independent-of-position': {
    ...on,
    async run({ store }) {
      await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: 60_000 });
      assert.equal(await store.checkpoints.get('c'), null);
      await store.checkpoints.set('c', 5n, { expected: null });
      await store.checkpoints.releaseLease('c', 'one');
      assert.equal((await store.checkpoints.get('c'))?.position, 5n);
    },
  },
  'not-supported': {
    requires: (c) => !c.checkpoints,
    async run(ctx) {
      const before = await fingerprint(ctx);
      await rejects(ctx.store.checkpoints.get('c'), 'NOT_SUPPORTED');
      await rejects(ctx.store.checkpoints.list(), 'NOT_SUPPORTED');
      await rejects(ctx.store.checkpoints.set('c', 1n), 'NOT_SUPPORTED');
      await rejects(ctx.store.checkpoints.acquireLease('c', { owner: 'o', ttlMs: 1000 }), 'NOT_SUPPORTED');
      await rejects(ctx.store.checkpoints.releaseLease('c', 'o'), 'NOT_SUPPORTED');
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
});
