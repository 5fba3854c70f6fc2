import type { ConcurrencyError } from '../errors.js';
import { assert, defineCases, fingerprint, rejects, sleep } from './helpers.js';

const on = { requires: (c: { checkpoints: boolean }) => c.checkpoints };

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
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: ms(150) }), true);
      await sleep(ms(100));
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'one', ttlMs: ms(150) }), true);
      await sleep(ms(100));
      assert.equal(await store.checkpoints.acquireLease('c', { owner: 'two', ttlMs: ms(150) }), false, 'renewal extended the lease');
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
      await rejects(ctx.store.checkpoints.set('c', 1n), 'NOT_SUPPORTED');
      await rejects(ctx.store.checkpoints.acquireLease('c', { owner: 'o', ttlMs: 1000 }), 'NOT_SUPPORTED');
      await rejects(ctx.store.checkpoints.releaseLease('c', 'o'), 'NOT_SUPPORTED');
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
});
