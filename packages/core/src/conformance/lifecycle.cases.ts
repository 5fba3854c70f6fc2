import type { ChangeNotice } from '../subscriptions/types.js';
import { withWakeUps } from '../subscriptions/wake-ups.js';
import { assert, collect, defineCases, evt, evts, rejects, sleep } from './helpers.js';

export const lifecycleCases = defineCases('lifecycle', {
  'capabilities.declared': {
    async run({ store }) {
      for (const flag of ['transactions', 'snapshots', 'queue', 'checkpoints', 'wakeUps', 'crossProcessWakeUps'] as const) {
        assert.equal(typeof store.capabilities[flag], 'boolean', `capability ${flag} is declared`);
      }
    },
  },
  'close.events-reject': {
    async run({ store }) {
      await store.events.append('s', evts(1));
      await store.close();
      await rejects(store.events.append('s', evts(1)), 'CLOSED');
      await rejects(collect(store.events.readStream('s')), 'CLOSED');
      await rejects(collect(store.events.readAll()), 'CLOSED');
      await rejects(store.events.streamInfo('s'), 'CLOSED');
      await rejects(store.events.headPosition(), 'CLOSED');
    },
  },
  'close.queue-rejects': {
    requires: (c) => c.queue,
    async run({ store }) {
      await store.close();
      await rejects(store.queue.send('q', { body: 1 }), 'CLOSED');
      await rejects(store.queue.receive('q'), 'CLOSED');
      await rejects(store.queue.ack('r'), 'CLOSED');
      await rejects(store.queue.ackMany(['r']), 'CLOSED');
      await rejects(store.queue.stats('q'), 'CLOSED');
      await rejects(store.queue.purge('q'), 'CLOSED');
    },
  },
  'close.snapshots-reject': {
    requires: (c) => c.snapshots,
    async run({ store }) {
      await store.close();
      await rejects(store.snapshots.save('s', { version: 1, state: {} }), 'CLOSED');
      await rejects(store.snapshots.load('s'), 'CLOSED');
      await rejects(store.snapshots.delete('s'), 'CLOSED');
    },
  },
  'close.checkpoints-reject': {
    requires: (c) => c.checkpoints,
    async run({ store }) {
      await store.close();
      await rejects(store.checkpoints.get('c'), 'CLOSED');
      await rejects(store.checkpoints.list(), 'CLOSED');
      await rejects(store.checkpoints.set('c', 1n), 'CLOSED');
      await rejects(store.checkpoints.acquireLease('c', { owner: 'o', ttlMs: 1000 }), 'CLOSED');
    },
  },
  'close.transaction-rejects': {
    requires: (c) => c.transactions,
    async run({ store }) {
      await store.close();
      let called = false;
      await rejects(
        store.transaction(async () => {
          called = true;
        }),
        'CLOSED',
      );
      assert.equal(called, false);
    },
  },
  'close.twice-is-fine': {
    async run({ store }) {
      await store.close();
      await store.close();
    },
  },
  'close.reading-iterator-stops': {
    async run({ store, settings }) {
      await store.events.append('s', evts(settings.readPageSize * 3));
      const iterator = store.events.readStream('s')[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false);
      await store.close();
      // The page in hand may still be served; after it, the closed store must refuse to read on.
      await rejects(async () => {
        for (let i = 0; i < settings.readPageSize * 3; i++) if ((await iterator.next()).done) return;
      }, 'CLOSED');
    },
  },
  'wake-ups.announce-commits': {
    requires: (c) => c.wakeUps,
    async run({ store, caps }) {
      const notices: ChangeNotice[] = [];
      const stop = store.wakeUps.onChange((n) => notices.push(n));
      const r = await store.events.append('s', [evt('A'), evt('B')]);
      if (caps.queue) await store.queue.send('q', { body: 1 });
      for (let i = 0; i < 100 && notices.length < (caps.queue ? 2 : 1); i++) await sleep(5);
      stop();
      await store.events.append('s', [evt('C')]);
      await sleep(30);
      const events = notices.filter((n) => n.kind === 'events');
      assert.equal(events.length, 1, 'one notice per append, none after unsubscribing');
      assert.deepEqual(events[0], { kind: 'events', streamId: 's', type: 'B', position: r.lastPosition });
      if (caps.queue)
        assert.deepEqual(
          notices.filter((n) => n.kind === 'queue'),
          [{ kind: 'queue', queue: 'q' }],
        );
    },
  },
  'wake-ups.redrive-announces': {
    // A redrive makes messages ready: workers waiting on the queue must hear of it (found by mutation testing).
    requires: (c) => c.wakeUps && c.queue,
    async run({ store }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q');
      await store.queue.nack(d?.receipt ?? '', { deadLetter: true });
      const notices: ChangeNotice[] = [];
      const stop = store.wakeUps.onChange((n) => notices.push(n));
      assert.equal(await store.queue.redrive('q'), 1);
      for (let i = 0; i < 100 && notices.length === 0; i++) await sleep(5);
      stop();
      assert.deepEqual(
        notices.filter((n) => n.kind === 'queue'),
        [{ kind: 'queue', queue: 'q' }],
      );
    },
  },
  'wake-ups.only-after-commit': {
    requires: (c) => c.wakeUps && c.transactions,
    async run({ store }) {
      const notices: ChangeNotice[] = [];
      const stop = store.wakeUps.onChange((n) => notices.push(n));
      await store
        .transaction(async (tx) => {
          await tx.events.append('rolled-back', evts(1));
          throw new Error('no');
        })
        .catch(() => undefined);
      await store.transaction(async (tx) => {
        await tx.events.append('s', evts(1));
        await sleep(20);
        assert.deepEqual(notices, [], 'nothing announced before commit');
      });
      for (let i = 0; i < 100 && notices.length === 0; i++) await sleep(5);
      stop();
      assert.deepEqual(
        notices.map((n) => (n.kind === 'events' ? n.streamId : n.kind)),
        ['s'],
      );
    },
  },
  'wake-ups.attached-source': {
    // What @strata/realtime does to a store: a view with a second wake-up source (withWakeUps). The view
    // must be the store — its methods (a class's private fields included), getters and close() — and a
    // notice of the attached source must reach whoever listens on the view.
    async run({ store }) {
      const heard: ChangeNotice[] = [];
      const listeners = new Set<(n: ChangeNotice) => void>();
      const source = {
        onChange(l: (n: ChangeNotice) => void) {
          listeners.add(l);
          return () => void listeners.delete(l);
        },
      };
      const live = withWakeUps(store, source);
      assert.equal(live.capabilities.crossProcessWakeUps, true, 'the view announces cross-process wake-ups');
      assert.equal(live.capabilities.transactions, store.capabilities.transactions, 'other capabilities are the store’s');
      const stop = live.wakeUps.onChange((n) => heard.push(n));
      for (const l of listeners) l({ kind: 'resync' });
      assert.deepEqual(heard, [{ kind: 'resync' }], 'the attached source’s notice reached the view’s listener');
      const { lastPosition } = await live.events.append('attached', evts(2));
      assert.equal(await live.events.headPosition(), lastPosition);
      assert.equal((await collect(live.events.readStream('attached'))).length, 2);
      assert.equal(live.db, store.db, 'db is the store’s');
      if (store.capabilities.transactions) {
        await live.transaction(async (tx) => {
          await tx.events.append('attached', evts(1, 'Tested', 2), { expectedVersion: 2 });
        });
        assert.equal((await store.events.streamInfo('attached'))?.version, 3, 'a transaction through the view commits on the store');
      }
      stop();
      assert.equal(listeners.size, 0, 'stopping the view’s listener stops it on the attached source');
      await live.close();
      await rejects(store.events.headPosition(), 'CLOSED');
    },
  },
});
