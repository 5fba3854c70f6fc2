import type { StoredEvent } from '../events/types.js';
import { type Subscription, subscribe } from '../subscriptions/subscribe.js';
import { assert, collect, defineCases, eventually, evt, evts, sleep } from './helpers.js';

const WAIT = 10_000;
// Default options: the cases see what users see (wake-ups and the default poll interval).
const fast = {};

/** Subscribes and records what it gets. */
function record(sub: (handler: (e: StoredEvent) => void) => Subscription): { got: StoredEvent[]; sub: Subscription } {
  const got: StoredEvent[] = [];
  const s = sub((e) => {
    got.push(e);
  });
  return { got, sub: s };
}

const ids = (events: StoredEvent[]) => events.map((e) => `${e.streamId}#${e.version}`);

export const subscriptionCases = defineCases('subscriptions', {
  'from-start.delivers-history-in-order': {
    async run({ store }) {
      await store.events.append('a', evts(12));
      await store.events.append('b', evts(5));
      await store.events.append('a', evts(8));
      const { got, sub } = record((handler) => subscribe(store, { from: 'start', handler, batchSize: 7, ...fast }));
      await eventually(() => got.length >= 25, WAIT, '25 events');
      await sub.stop();
      assert.deepEqual(ids(got), ids(await collect(store.events.readAll())));
    },
  },
  'live.delivers-new-events': {
    async run({ store }) {
      const { got, sub } = record((handler) => subscribe(store, { from: 'start', handler, ...fast }));
      await sleep(30);
      await store.events.append('a', evts(3));
      await eventually(() => got.length === 3, WAIT, '3 live events');
      await store.events.append('b', evts(2));
      await eventually(() => got.length === 5, WAIT, '5 live events');
      await sub.stop();
      assert.deepEqual(ids(got), ['a#1', 'a#2', 'a#3', 'b#1', 'b#2']);
    },
  },
  'from-end.only-new-events': {
    async run({ store }) {
      await store.events.append('old', evts(4));
      const { got, sub } = record((handler) => subscribe(store, { from: 'end', handler, ...fast }));
      await sleep(50);
      await store.events.append('new', evts(2));
      await eventually(() => got.length === 2, WAIT, '2 new events');
      await sleep(30);
      await sub.stop();
      assert.deepEqual(ids(got), ['new#1', 'new#2']);
    },
  },
  'from-position.after-it': {
    async run({ store }) {
      await store.events.append('a', evts(5));
      const all = await collect(store.events.readAll());
      const { got, sub } = record((handler) => subscribe(store, { from: all[1]?.position ?? 0n, handler, ...fast }));
      await eventually(() => got.length === 3, WAIT, '3 events');
      await sub.stop();
      assert.deepEqual(ids(got), ['a#3', 'a#4', 'a#5']);
    },
  },
  'filter.stream-id': {
    async run({ store }) {
      await store.events.append('a', evts(2));
      await store.events.append('b', evts(2));
      const { got, sub } = record((handler) => subscribe(store, { streamId: 'b', handler, ...fast }));
      await store.events.append('a', evts(1));
      await store.events.append('b', evts(1));
      await eventually(() => got.length === 3, WAIT, '3 events of b');
      await sleep(30);
      await sub.stop();
      assert.deepEqual(ids(got), ['b#1', 'b#2', 'b#3']);
    },
  },
  'filter.types': {
    async run({ store }) {
      await store.events.append('a', [evt('X'), evt('Y'), evt('Z')]);
      const { got, sub } = record((handler) => subscribe(store, { types: ['X', 'Z'], handler, ...fast }));
      await store.events.append('b', [evt('Y'), evt('Z')]);
      await eventually(() => got.length === 3, WAIT, '3 events');
      await sleep(30);
      await sub.stop();
      assert.deepEqual(
        got.map((e) => e.type),
        ['X', 'Z', 'Z'],
      );
    },
  },
  'filter.types-exact-across-pages': {
    // The type filter matches whole names only, in history spanning pages and in live events.
    async run({ store, settings }) {
      const p = settings.readPageSize;
      for (let i = 0; i < 3; i++) {
        await store.events.append(`s-${i}`, [...evts(p, 'OrderPlaced'), evt('Order', { i }), evt('order'), evt('Orde')]);
      }
      const { got, sub } = record((handler) => subscribe(store, { types: ['Order'], handler, ...fast }));
      await store.events.append('live', [evt('OrderPlaced'), evt('Order', { i: 3 }), evt('ORDER')]);
      await eventually(() => got.length >= 4, WAIT, '4 Order events');
      await sleep(30);
      await sub.stop();
      assert.deepEqual(
        got.map((e) => [e.type, (e.data as { i: number }).i]),
        [
          ['Order', 0],
          ['Order', 1],
          ['Order', 2],
          ['Order', 3],
        ],
      );
    },
  },
  'no-gaps-under-concurrent-appends': {
    timeoutMs: 60_000,
    async run({ store }) {
      const { got, sub } = record((handler) => subscribe(store, { from: 'start', handler, batchSize: 13, ...fast }));
      await Promise.all(
        Array.from({ length: 6 }, async (_, w) => {
          for (let i = 0; i < 30; i++) await store.events.append(`w-${w}`, [evt('W', { i })]);
        }),
      );
      await eventually(() => got.length >= 180, WAIT, '180 events');
      await sleep(30);
      await sub.stop();
      const all = await collect(store.events.readAll());
      assert.deepEqual(
        got.map((e) => e.position),
        all.map((e) => e.position),
        'every event once, in position order',
      );
    },
  },
  'consumer.checkpoint-advances': {
    requires: (c) => c.checkpoints,
    async run({ store }) {
      await store.events.append('a', evts(4));
      const { got, sub } = record((handler) => subscribe(store, { from: { consumer: 'proj' }, handler, ...fast }));
      await eventually(() => got.length === 4, WAIT, '4 events');
      await eventually(async () => (await store.checkpoints.get('proj'))?.position === got[3]?.position, WAIT, 'checkpoint at the last event');
      await sub.stop();
    },
  },
  'consumer.resumes-after-checkpoint': {
    requires: (c) => c.checkpoints,
    async run({ store }) {
      await store.events.append('a', evts(3));
      const first = record((handler) => subscribe(store, { from: { consumer: 'proj' }, handler, ...fast }));
      await eventually(() => first.got.length === 3, WAIT, 'first run');
      await first.sub.stop();
      await store.events.append('a', evts(2));
      const second = record((handler) => subscribe(store, { from: { consumer: 'proj' }, handler, ...fast }));
      await eventually(() => second.got.length === 2, WAIT, 'second run');
      await sleep(30);
      await second.sub.stop();
      assert.deepEqual(ids(second.got), ['a#4', 'a#5'], 'nothing redelivered, nothing skipped');
    },
  },
  'handler-error.stops-and-rejects': {
    requires: (c) => c.checkpoints,
    async run({ store }) {
      await store.events.append('a', evts(5));
      const boom = new Error('projection failed');
      const seen: number[] = [];
      const sub = subscribe(store, {
        from: { consumer: 'proj' },
        handler: (e) => {
          if (e.version === 3) throw boom;
          seen.push(e.version);
        },
        ...fast,
      });
      let caught: unknown;
      await sub.done.catch((e: unknown) => (caught = e));
      assert.equal(caught, boom);
      // In a transaction per batch, the events before the failing one are handled again one by one
      // (their first handling rolled back), so an effect outside the transaction may repeat.
      assert.deepEqual([...new Set(seen)], [1, 2]);
      const all = await collect(store.events.readAll());
      assert.equal((await store.checkpoints.get('proj'))?.position, all[1]?.position, 'checkpoint stays before the failed event');
    },
  },
  'handler-error.retry': {
    async run({ store }) {
      await store.events.append('a', evts(4));
      let failed = false;
      const seen: number[] = [];
      const sub = subscribe(store, {
        handler: (e) => {
          if (e.version === 2 && !failed) {
            failed = true;
            throw new Error('transient');
          }
          seen.push(e.version);
        },
        onError: () => 'retry',
        ...fast,
      });
      await eventually(() => seen.length === 4, WAIT, '4 events');
      await sub.stop();
      assert.deepEqual(seen, [1, 2, 3, 4]);
    },
  },
  'handler-error.skip': {
    async run({ store }) {
      await store.events.append('a', evts(3));
      const seen: number[] = [];
      const sub = subscribe(store, {
        handler: (e) => {
          if (e.version === 2) throw new Error('bad event');
          seen.push(e.version);
        },
        onError: () => 'skip',
        ...fast,
      });
      await eventually(() => seen.length === 2, WAIT, '2 events');
      await sub.stop();
      assert.deepEqual(seen, [1, 3]);
    },
  },
  'exactly-once-projection-in-transaction': {
    requires: (c) => c.checkpoints && c.transactions,
    async run({ store }) {
      await store.events.append('src-1', evts(5));
      let failedOnce = false;
      const sub = subscribe(store, {
        from: { consumer: 'proj' },
        streamPrefix: 'src-',
        handler: async (e, { tx }) => {
          assert.ok(tx, 'a named consumer on a transactional store gets a transaction');
          await tx.events.append('projection', [evt('Projected', { from: e.version })]);
          if (e.version === 3 && !failedOnce) {
            failedOnce = true;
            throw new Error('crash after writing');
          }
        },
        onError: () => 'retry',
        ...fast,
      });
      await eventually(async () => (await store.events.streamInfo('projection'))?.version === 5, WAIT, '5 projected events');
      await sleep(50);
      await sub.stop();
      const projected = await collect(store.events.readStream('projection'));
      assert.deepEqual(
        projected.map((e) => (e.data as { from: number }).from),
        [1, 2, 3, 4, 5],
        'the failed attempt left no write',
      );
    },
  },
  'consumer.one-transaction-per-batch': {
    requires: (c) => c.checkpoints && c.transactions,
    async run({ store }) {
      const events = await store.events.append('a', evts(7));
      const txs: unknown[] = [];
      const seenCheckpoints: (bigint | undefined)[] = [];
      const sub = subscribe(store, {
        from: { consumer: 'proj' },
        batchSize: 4,
        handler: async (_e, { tx }) => {
          assert.ok(tx);
          txs.push(tx);
          seenCheckpoints.push((await tx.checkpoints.get('proj'))?.position);
        },
        ...fast,
      });
      await eventually(() => txs.length === 7, WAIT, '7 events');
      await sub.stop();
      assert.equal(new Set(txs.slice(0, 4)).size, 1, 'the first batch shares one transaction');
      assert.equal(new Set(txs.slice(4)).size, 1, 'the second batch shares one transaction');
      assert.notEqual(txs[0], txs[4]);
      const last = events.lastPosition;
      const first = events.firstPosition;
      // The checkpoint moves once per batch, to the batch's last event, in the batch's transaction.
      assert.deepEqual(seenCheckpoints, [first + 3n, first + 3n, first + 3n, first + 3n, last, last, last]);
      assert.equal((await store.checkpoints.get('proj'))?.position, last);
    },
  },
  'consumer.batch-failure-commits-the-events-before-it': {
    requires: (c) => c.checkpoints && c.transactions,
    async run({ store }) {
      await store.events.append('src-1', evts(6));
      const decisions: number[] = [];
      const sub = subscribe(store, {
        from: { consumer: 'proj' },
        streamPrefix: 'src-',
        batchSize: 6,
        handler: async (e, { tx }) => {
          assert.ok(tx);
          await tx.events.append('projection', [evt('Projected', { from: e.version })]);
          if (e.version === 4) throw new Error('poison event');
        },
        onError: (_error, e) => {
          decisions.push(e.version);
          return 'skip';
        },
        ...fast,
      });
      await eventually(async () => (await store.events.streamInfo('projection'))?.version === 5, WAIT, '5 projected events');
      await sleep(50);
      await sub.stop();
      const projected = await collect(store.events.readStream('projection'));
      assert.deepEqual(
        projected.map((e) => (e.data as { from: number }).from),
        [1, 2, 3, 5, 6],
        'each event projected once; the skipped one left no write',
      );
      assert.deepEqual(decisions, [4], 'onError is asked about the failing event alone, once');
      const all = await collect(store.events.readAll({ streamId: 'src-1' }));
      assert.equal((await store.checkpoints.get('proj'))?.position, all[5]?.position);
    },
  },
  'consumer.single-active-instance': {
    requires: (c) => c.checkpoints,
    timeoutMs: 30_000,
    async run({ store, ms }) {
      const got: string[] = [];
      const opts = { from: { consumer: 'proj' }, leaseTtlMs: ms(300), ...fast };
      const one = subscribe(store, { ...opts, handler: (e) => void got.push(`one:${e.version}`) });
      await eventually(() => one.active, WAIT, 'first instance active');
      const two = subscribe(store, { ...opts, handler: (e) => void got.push(`two:${e.version}`) });
      await store.events.append('a', evts(3));
      await eventually(() => got.length === 3, WAIT, '3 events');
      await sleep(ms(100));
      assert.equal(two.active, false, 'the second instance stands by');
      assert.deepEqual(got, ['one:1', 'one:2', 'one:3']);
      await one.stop();
      await store.events.append('a', evts(2));
      await eventually(() => got.length === 5, WAIT, 'the second instance takes over');
      await two.stop();
      assert.deepEqual(got.slice(3), ['two:4', 'two:5']);
    },
  },
  'stop.waits-for-handler': {
    async run({ store }) {
      await store.events.append('a', evts(1));
      let started = false;
      let finished = false;
      const sub = subscribe(store, {
        handler: async () => {
          started = true;
          await sleep(100);
          finished = true;
        },
        ...fast,
      });
      await eventually(() => started, WAIT, 'handler started');
      await sub.stop();
      assert.equal(finished, true);
      await sub.done;
    },
  },
  'abort-signal-stops': {
    async run({ store }) {
      const controller = new AbortController();
      const got: StoredEvent[] = [];
      const sub = subscribe(store, { handler: (e) => void got.push(e), signal: controller.signal, ...fast });
      await store.events.append('a', evts(1));
      await eventually(() => got.length === 1, WAIT, 'first event');
      controller.abort();
      await sub.done;
      await store.events.append('a', evts(1));
      await sleep(60);
      assert.equal(got.length, 1);
    },
  },
  'wake-up.delivers-without-polling': {
    requires: (c) => c.wakeUps,
    async run({ store }) {
      const got: StoredEvent[] = [];
      const sub = subscribe(store, { handler: (e) => void got.push(e), pollIntervalMs: 120_000 });
      await sleep(50);
      const t0 = Date.now();
      await store.events.append('a', evts(1));
      await eventually(() => got.length === 1, 5_000, 'delivery woken by the store');
      const latency = Date.now() - t0;
      await sub.stop();
      assert.ok(latency < 5_000, `delivered after ${latency} ms`);
    },
  },
});
