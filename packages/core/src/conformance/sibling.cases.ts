import type { Capabilities } from '../capabilities.js';
import { isStrataError } from '../errors.js';
import type { StoredEvent } from '../events/types.js';
import { consume } from '../queue/consume.js';
import type { Delivery } from '../queue/types.js';
import type { StrataStore } from '../store.js';
import { subscribe } from '../subscriptions/subscribe.js';
import type { ChangeNotice } from '../subscriptions/types.js';
import { assert, collect, defineCases, eventually, evts, rejects, show, sleep } from './helpers.js';
import type { CaseContext, RunFeatures } from './types.js';

// What must hold between two stores on the same data (ConformanceOptions.sibling): what one commits,
// the other reads; claims, compare-and-sets and leases exclude across them; and, where the adapter says
// so, one store's wake-ups announce the other's commits. These run only when the run can open a sibling.

const WAIT = 10_000;

/** Requires a sibling, and `caps` to pass `more`. */
const sibling =
  (more: (caps: Readonly<Capabilities>) => boolean = () => true) =>
  (caps: Readonly<Capabilities>, run?: Readonly<RunFeatures>) =>
    run?.sibling === true && more(caps);

/**
 * Waits (up to 5 s, scaled) until `notices` announce `what` — an append to a stream, or messages of a
 * queue — or say to read everything again (a resync, which is always a valid answer).
 */
function wokenBy(ctx: CaseContext, notices: readonly ChangeNotice[], what: { streamId: string } | { queue: string }, message: string): Promise<void> {
  const names = (n: ChangeNotice) =>
    n.kind === 'resync' || ('streamId' in what ? n.kind === 'events' && n.streamId === what.streamId : n.kind === 'queue' && n.queue === what.queue);
  return eventually(() => notices.some(names), ctx.ms(5_000), message);
}

const where = (events: StoredEvent[]) => events.map((e) => `${e.streamId}#${e.version}@${e.position}:${e.id}`);

/** Every message id the two stores take, each receiving in turn with `max` until neither gets any. */
async function drainBoth(a: StrataStore, b: StrataStore, queue: string): Promise<Delivery[][]> {
  const got: Delivery[][] = [[], []];
  await Promise.all(
    [a, b].map(async (store, i) => {
      for (;;) {
        const ds = await store.queue.receive(queue, { max: 3, visibilityTimeoutMs: 60_000 });
        if (ds.length === 0) return;
        got[i]?.push(...ds);
      }
    }),
  );
  return got;
}

const eventCases = defineCases('events', {
  'sibling.appends-read-across': {
    requires: sibling(),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      await store.events.append('a', evts(2));
      await other.events.append('b', evts(3));
      await store.events.append('a', evts(1, 'Tested', 2), { expectedVersion: 2 });
      await other.events.append('a', evts(1, 'Tested', 3), { expectedVersion: 3 });
      for (const [name, reader] of [
        ['the first store', store],
        ['the sibling', other],
      ] as const) {
        const stream = await collect(reader.events.readStream('a'));
        assert.deepEqual(
          stream.map((e) => [e.version, e.data]),
          [
            [1, { n: 0 }],
            [2, { n: 1 }],
            [3, { n: 2 }],
            [4, { n: 3 }],
          ],
          `${name} reads stream a with the appends of both stores`,
        );
        const all = await collect(reader.events.readAll());
        assert.deepEqual(
          all.map((e) => `${e.streamId}#${e.version}`),
          ['a#1', 'a#2', 'b#1', 'b#2', 'b#3', 'a#3', 'a#4'],
          `${name} reads every append of both stores in commit order`,
        );
        assert.ok(
          all.every((e, i) => i === 0 || (all[i - 1] as StoredEvent).position < e.position),
          `${name} reads positions in increasing order`,
        );
        assert.equal(await reader.events.headPosition(), all.at(-1)?.position, `${name}'s head is the last append of either store`);
        assert.equal((await reader.events.streamInfo('b'))?.version, 3, `${name} knows stream b`);
      }
      assert.deepEqual(
        where(await collect(store.events.readAll())),
        where(await collect(other.events.readAll())),
        'both read the same events, ids and positions',
      );
    },
  },
  'sibling.same-expected-version-one-wins': {
    requires: sibling(),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      for (let round = 0; round < 4; round++) {
        const expectedVersion = round === 0 ? ('no_stream' as const) : round;
        const results = await Promise.allSettled([
          store.events.append('s', evts(1, 'First', round), { expectedVersion }),
          other.events.append('s', evts(1, 'Second', round), { expectedVersion }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: exactly one of two appends at the same expected version across stores wins, got ${won.length}`);
        const error: unknown = lost[0]?.reason;
        assert.ok(isStrataError(error) && error.code === 'CONCURRENCY', `round ${round}: the loser rejects with CONCURRENCY, got ${show(error)}`);
      }
      for (const reader of [store, other]) {
        const stream = await collect(reader.events.readStream('s'));
        assert.deepEqual(
          stream.map((e) => e.version),
          [1, 2, 3, 4],
          'one event per round, from the winner',
        );
      }
    },
  },
});

const onQueue = sibling((c) => c.queue);

const queueCases = defineCases('queue', {
  'sibling.nack-wakes-the-other-store': {
    requires: sibling((c) => c.queue && c.crossProcessWakeUps),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      await store.queue.send('nacked-across', { body: 1 });
      const [d] = await other.queue.receive('nacked-across', { visibilityTimeoutMs: 60_000 });
      assert.ok(d !== undefined, 'the sibling received the message');
      const notices: ChangeNotice[] = [];
      const stop = store.wakeUps.onChange((n) => notices.push(n));
      try {
        // First a commit every store announces, so that whatever the listener's first look finds is behind us.
        await other.queue.send('nacked-across-warm-up', { body: 1 });
        await wokenBy(ctx, notices, { queue: 'nacked-across-warm-up' }, "the first store's wake-up on the sibling's send");
        notices.length = 0;
        // A nack makes the message ready again without a new message: a consumer of the first store waiting
        // on this queue must hear of it, not find it at its next poll.
        await other.queue.nack(d.receipt);
        await wokenBy(ctx, notices, { queue: 'nacked-across' }, "the first store's wake-up on the sibling's nack");
      } finally {
        stop();
      }
    },
  },
  'sibling.claims-are-exclusive': {
    requires: onQueue,
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      const sent = await store.queue.send(
        'q',
        Array.from({ length: 12 }, (_, i) => ({ body: i })),
      );
      const sentThere = await other.queue.send(
        'q',
        Array.from({ length: 12 }, (_, i) => ({ body: 12 + i })),
      );
      const [here, there] = await drainBoth(store, other, 'q');
      const ids = [...(here ?? []), ...(there ?? [])].map((d) => d.id);
      assert.equal(ids.length, new Set(ids).size, `no message is delivered to both stores (${ids.length - new Set(ids).size} were)`);
      assert.deepEqual([...ids].sort(), [...sent, ...sentThere].sort(), 'every message sent through either store is delivered once');
      for (const [name, reader] of [
        ['the first store', store],
        ['the sibling', other],
      ] as const) {
        const stats = await reader.queue.stats('q');
        assert.deepEqual(
          { ready: stats.ready, inFlight: stats.inFlight },
          { ready: 0, inFlight: 24 },
          `${name} sees every claim, its own and the other store's`,
        );
      }
    },
  },
  'sibling.receipts-work-through-either-store': {
    requires: onQueue,
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      await store.queue.send('q', [{ body: 1 }, { body: 2 }]);
      const [first, second] = await store.queue.receive('q', { max: 2, visibilityTimeoutMs: 60_000 });
      assert.ok(first && second, 'two deliveries');
      // The receipt is the database's, not the connection's: a worker may settle through any store.
      await other.queue.ack(first.receipt);
      await rejects(store.queue.ack(first.receipt), 'STALE_RECEIPT');
      await other.queue.nack(second.receipt);
      await rejects(store.queue.nack(second.receipt), 'STALE_RECEIPT');
      const [again] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      assert.equal(again?.id, second.id, 'the message nacked through the sibling is ready again');
      assert.equal(again?.attempt, 2);
      const stats = await other.queue.stats('q');
      assert.deepEqual({ ready: stats.ready, inFlight: stats.inFlight }, { ready: 0, inFlight: 1 });
    },
  },
  'sibling.dedup-across': {
    requires: onQueue,
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      const [id] = await store.queue.send('q', { body: 'first', dedupId: 'once' });
      const [same] = await other.queue.send('q', { body: 'second', dedupId: 'once' });
      assert.equal(same, id, 'a send through the sibling with a pending dedupId returns the first id');
      const ds = await other.queue.receive('q', { max: 5 });
      assert.deepEqual(
        ds.map((d) => d.body),
        ['first'],
      );
      assert.equal((await store.queue.stats('q')).ready, 0);
    },
  },
});

const checkpointCases = defineCases('checkpoints', {
  'sibling.leases-exclude-across': {
    requires: sibling((c) => c.checkpoints),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      assert.equal(await store.checkpoints.acquireLease('proj', { owner: 'A', ttlMs: 60_000 }), true);
      assert.equal(await other.checkpoints.acquireLease('proj', { owner: 'B', ttlMs: 60_000 }), false, 'the sibling cannot take a lease the first store holds');
      await other.checkpoints.releaseLease('proj', 'B');
      assert.equal(await store.checkpoints.acquireLease('proj', { owner: 'A', ttlMs: 60_000 }), true, "releasing as another owner left A's lease");
      await other.checkpoints.releaseLease('proj', 'A');
      assert.equal(await other.checkpoints.acquireLease('proj', { owner: 'B', ttlMs: 60_000 }), true, 'released through the sibling, the lease is free');
      assert.equal(await store.checkpoints.acquireLease('proj', { owner: 'A', ttlMs: 60_000 }), false, 'now the first store cannot take it');
    },
  },
  'sibling.read-and-compare-across': {
    requires: sibling((c) => c.checkpoints),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      await store.checkpoints.set('proj', 5n, { expected: null });
      assert.equal((await other.checkpoints.get('proj'))?.position, 5n, 'the sibling reads what the first store set');
      await rejects(other.checkpoints.set('proj', 6n, { expected: null }), 'CONCURRENCY');
      await other.checkpoints.set('proj', 7n, { expected: 5n });
      await rejects(store.checkpoints.set('proj', 9n, { expected: 5n }), 'CONCURRENCY');
      assert.equal((await store.checkpoints.get('proj'))?.position, 7n, 'the first store reads what the sibling set');
      assert.deepEqual(
        (await store.checkpoints.list()).map((c) => [c.consumer, c.position]),
        (await other.checkpoints.list()).map((c) => [c.consumer, c.position]),
      );
    },
  },
});

const snapshotCases = defineCases('snapshots', {
  'sibling.read-across': {
    requires: sibling((c) => c.snapshots),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      await store.events.append('s', evts(5));
      await store.snapshots.save('s', { version: 3, state: { total: 3 } });
      assert.deepEqual((await other.snapshots.load('s'))?.state, { total: 3 }, 'the sibling loads what the first store saved');
      await other.snapshots.save('s', { version: 5, state: { total: 5 } });
      assert.equal((await store.snapshots.load('s'))?.version, 5, 'the first store loads what the sibling saved');
      assert.deepEqual((await store.snapshots.load('s', { maxVersion: 4 }))?.state, { total: 3 });
      await other.snapshots.delete('s');
      assert.equal(await store.snapshots.load('s'), null, 'a delete through the sibling is seen by the first store');
    },
  },
});

const subscriptionCases = defineCases('subscriptions', {
  'sibling.subscribe-delivers-sibling-appends': {
    requires: sibling(),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      await other.events.append('before', evts(1));
      const got: StoredEvent[] = [];
      const sub = subscribe(store, { from: 'start', handler: (e) => void got.push(e) });
      await eventually(() => got.length === 1, ctx.ms(WAIT), "the sibling's earlier append");
      await other.events.append('after', evts(2));
      await eventually(() => got.length === 3, ctx.ms(WAIT), "the sibling's later appends");
      await sub.stop();
      assert.deepEqual(
        got.map((e) => `${e.streamId}#${e.version}`),
        ['before#1', 'after#1', 'after#2'],
      );
    },
  },
  'sibling.consume-handles-sibling-sends': {
    requires: onQueue,
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      const handled: unknown[] = [];
      const controller = new AbortController();
      const worker = consume(store, 'q', (d) => void handled.push(d.body), { signal: controller.signal });
      try {
        await other.queue.send('q', [{ body: 1 }, { body: 2 }, { body: 3 }]);
        await eventually(() => handled.length === 3, ctx.ms(WAIT), "the sibling's messages handled by the first store's worker");
        await eventually(
          async () => {
            const stats = await other.queue.stats('q');
            return stats.ready + stats.inFlight === 0;
          },
          ctx.ms(WAIT),
          'the acks, seen through the sibling',
        );
      } finally {
        controller.abort();
        await worker;
      }
      assert.deepEqual([...handled].sort(), [1, 2, 3]);
    },
  },
});

const lifecycleCases = defineCases('lifecycle', {
  'sibling.cross-process-wake-ups': {
    requires: sibling((c) => c.crossProcessWakeUps),
    async run(ctx) {
      const { store, caps } = ctx;
      const other = await ctx.sibling();
      const notices: ChangeNotice[] = [];
      const stop = store.wakeUps.onChange((n) => notices.push(n));
      try {
        await other.events.append('woken', evts(1));
        await wokenBy(ctx, notices, { streamId: 'woken' }, "the first store's wake-up on the sibling's append");
        if (caps.queue) {
          notices.length = 0; // only what the send brings
          await other.queue.send('woken-q', { body: 1 });
          await wokenBy(ctx, notices, { queue: 'woken-q' }, "the first store's wake-up on the sibling's send");
        }
      } finally {
        stop();
      }
    },
  },
  'sibling.cross-process-wake-ups-while-the-store-is-busy': {
    requires: sibling((c) => c.crossProcessWakeUps),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      const notices: ChangeNotice[] = [];
      // Calls queued on the store when the listener subscribes: whatever starts the listening may wait for
      // them, and what the other store commits meanwhile must still be announced.
      const busy = Array.from({ length: 200 }, () => store.events.headPosition());
      const stop = store.wakeUps.onChange((n) => notices.push(n));
      try {
        await other.events.append('woken-while-busy', evts(1));
        await Promise.all(busy);
        await wokenBy(ctx, notices, { streamId: 'woken-while-busy' }, "the wake-up on the sibling's append made while the store was busy with earlier calls");
      } finally {
        stop();
      }
    },
  },
  'sibling.cross-process-wake-ups-outlive-a-leaving-listener': {
    requires: sibling((c) => c.crossProcessWakeUps),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      const stayed: ChangeNotice[] = [];
      const leaving = store.wakeUps.onChange(() => undefined);
      const stop = store.wakeUps.onChange((n) => stayed.push(n));
      try {
        // One listener leaving must not stop what the others are told of other connections' commits.
        leaving();
        await other.events.append('still-woken', evts(1));
        await wokenBy(ctx, stayed, { streamId: 'still-woken' }, "the remaining listener's wake-up on the sibling's append after another listener left");
      } finally {
        stop();
      }
    },
  },
  'sibling.cross-process-wake-ups-after-a-double-unsubscribe': {
    requires: sibling((c) => c.crossProcessWakeUps),
    async run(ctx) {
      const { store } = ctx;
      const other = await ctx.sibling();
      const first: ChangeNotice[] = [];
      const stopFirst = store.wakeUps.onChange((n) => first.push(n));
      // Unsubscribing twice is harmless: it neither counts twice nor stops the next listener's wake-ups.
      stopFirst();
      stopFirst();
      const second: ChangeNotice[] = [];
      const stop = store.wakeUps.onChange((n) => second.push(n));
      try {
        // Let whatever the subscriptions started or stopped settle first, so the commit below comes after it.
        await sleep(ctx.ms(100));
        await other.events.append('woken-again', evts(1));
        await wokenBy(
          ctx,
          second,
          { streamId: 'woken-again' },
          "a new listener's wake-up on the sibling's append after an earlier listener unsubscribed twice",
        );
        assert.deepEqual(first, [], 'a listener that unsubscribed was still told something');
      } finally {
        stop();
      }
    },
  },
});

/** The cases that need a second store on the same data (the run's `sibling` option), in every area they touch. */
export const siblingCases = [...eventCases, ...queueCases, ...checkpointCases, ...snapshotCases, ...subscriptionCases, ...lifecycleCases];
