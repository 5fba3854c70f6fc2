import type { Capabilities } from '../capabilities.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import type { ChangeNotice } from '../subscriptions/types.js';
import { withWakeUps } from '../subscriptions/wake-ups.js';
import type { StrataRecord } from '../transfer/types.js';
import { assert, collect, defineCases, evt, evts, rejects, show, sleep } from './helpers.js';
import type { ConformanceCase } from './types.js';

/** What calls with valid arguments need from a store while it is open: a live receipt, a stored message's id, records to import. */
export interface CallArguments {
  /** The receipt of a delivery still in flight (empty without a queue). */
  receipt: string;
  /** The id of a stored message (empty without a queue). */
  messageId: string;
  /** Everything the store held, as exported (empty without transfer). */
  records: StrataRecord[];
}

/**
 * Gives the open `store` something for every operation to act on (stream `s`, queue `q`, consumer `c`
 * leased by owner `o`) and returns the arguments that only an open store can hand out.
 */
export async function prepareCalls(store: StrataStore): Promise<CallArguments> {
  const caps = store.capabilities;
  await store.events.append('s', evts(2));
  let receipt = '';
  let messageId = '';
  if (caps.queue) {
    [messageId = ''] = await store.queue.send('q', [{ body: 1 }, { body: 2 }]);
    receipt = (await store.queue.receive('q', { max: 1 }))[0]?.receipt ?? '';
  }
  if (caps.snapshots) await store.snapshots.save('s', { version: 1, state: { n: 1 } });
  if (caps.checkpoints) {
    await store.checkpoints.set('c', 1n);
    await store.checkpoints.acquireLease('c', { owner: 'o', ttlMs: 60_000 });
  }
  const records = caps.transfer ? (await collect(store.transfer.export())).flatMap((b) => b.records) : [];
  return { receipt, messageId, records };
}

/** One operation of a store or transaction, called with valid arguments. */
export interface ContractCall {
  /** The operation as its errors must name it, first: `queue.stats`. */
  operation: string;
  /** The capability it needs; every adapter has the event store. */
  requires?: (caps: Readonly<Capabilities>) => boolean;
  /** Calls it on `on` (a store or a transaction); iterators are read to the end. */
  call(on: StoreTransaction, args: CallArguments): Promise<unknown>;
  /** Asserts what a call that completed returned, where that shows it did its whole work (after {@link prepareCalls}). */
  completed?(value: unknown): void;
}

const queue = (c: Readonly<Capabilities>) => c.queue;
const snapshots = (c: Readonly<Capabilities>) => c.snapshots;
const checkpoints = (c: Readonly<Capabilities>) => c.checkpoints;
const transfer = (c: Readonly<Capabilities>) => c.transfer;

/**
 * Every method of every contract a store and a transaction share, each with valid arguments: what must
 * reject with `CLOSED` once the store is closed or the transaction settled.
 */
export const contractCalls: readonly ContractCall[] = [
  {
    operation: 'events.append',
    call: (on) => on.events.append('s', evts(1)),
    completed: (value) => assert.equal((value as { version?: number }).version, 3, 'a completed append wrote its event (version 3)'),
  },
  { operation: 'events.readStream', call: (on) => collect(on.events.readStream('s')) },
  { operation: 'events.readAll', call: (on) => collect(on.events.readAll()) },
  { operation: 'events.streamInfo', call: (on) => on.events.streamInfo('s') },
  { operation: 'events.headPosition', call: (on) => on.events.headPosition() },
  {
    operation: 'queue.send',
    requires: queue,
    call: (on) => on.queue.send('q', { body: 3 }),
    completed: (value) =>
      assert.ok(Array.isArray(value) && value.length === 1 && typeof value[0] === 'string', 'a completed send returned the id of its message'),
  },
  { operation: 'queue.receive', requires: queue, call: (on) => on.queue.receive('q') },
  { operation: 'queue.ack', requires: queue, call: (on, a) => on.queue.ack(a.receipt) },
  { operation: 'queue.ackMany', requires: queue, call: (on, a) => on.queue.ackMany([a.receipt]) },
  { operation: 'queue.nack', requires: queue, call: (on, a) => on.queue.nack(a.receipt) },
  { operation: 'queue.extendVisibility', requires: queue, call: (on, a) => on.queue.extendVisibility(a.receipt, 1000) },
  { operation: 'queue.stats', requires: queue, call: (on) => on.queue.stats('q') },
  { operation: 'queue.nextVisibleInMs', requires: queue, call: (on) => on.queue.nextVisibleInMs('q') },
  { operation: 'queue.deadLetters', requires: queue, call: (on) => on.queue.deadLetters('q') },
  { operation: 'queue.redrive', requires: queue, call: (on, a) => on.queue.redrive('q', [a.messageId]) },
  { operation: 'queue.purge', requires: queue, call: (on) => on.queue.purge('q') },
  { operation: 'snapshots.save', requires: snapshots, call: (on) => on.snapshots.save('s', { version: 2, state: { n: 2 } }) },
  { operation: 'snapshots.load', requires: snapshots, call: (on) => on.snapshots.load('s') },
  { operation: 'snapshots.delete', requires: snapshots, call: (on) => on.snapshots.delete('s') },
  { operation: 'checkpoints.get', requires: checkpoints, call: (on) => on.checkpoints.get('c') },
  { operation: 'checkpoints.list', requires: checkpoints, call: (on) => on.checkpoints.list() },
  { operation: 'checkpoints.set', requires: checkpoints, call: (on) => on.checkpoints.set('c', 2n) },
  {
    operation: 'checkpoints.acquireLease',
    requires: checkpoints,
    call: (on) => on.checkpoints.acquireLease('c', { owner: 'o', ttlMs: 60_000 }),
    completed: (value) => assert.equal(value, true, 'a completed renewal of the lease its owner holds returned true'),
  },
  { operation: 'checkpoints.releaseLease', requires: checkpoints, call: (on) => on.checkpoints.releaseLease('c', 'o') },
  { operation: 'transfer.export', requires: transfer, call: (on) => collect(on.transfer.export()) },
  { operation: 'transfer.counts', requires: transfer, call: (on) => on.transfer.counts() },
  { operation: 'transfer.check', requires: transfer, call: (on, a) => on.transfer.check(a.records) },
  { operation: 'transfer.import', requires: transfer, call: (on, a) => on.transfer.import(a.records) },
];

/** An iterator of a contract, opened on a store or transaction holding `readPageSize * 3` events in stream `s`. */
export interface IteratorOpener {
  /** The operation as its errors must name it. */
  operation: string;
  /** The capability it needs. */
  requires?: (caps: Readonly<Capabilities>) => boolean;
  /** Opens it; `pageSize` is the store's read page size. */
  open(on: StoreTransaction, pageSize: number): AsyncIterator<unknown>;
}

/** The iterators of the contracts: each reads in pages (batches), so that one can be open across a close. */
export const contractIterators: readonly IteratorOpener[] = [
  { operation: 'events.readStream', open: (on) => on.events.readStream('s')[Symbol.asyncIterator]() },
  { operation: 'events.readAll', open: (on) => on.events.readAll()[Symbol.asyncIterator]() },
  { operation: 'transfer.export', requires: transfer, open: (on, pageSize) => on.transfer.export({ batchSize: pageSize })[Symbol.asyncIterator]() },
];

/** `queue.nextVisibleInMs` as `queue-next-visible-in-ms`, for case ids. */
export function slug(operation: string): string {
  return operation.replace('.', '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Asserts that `action` rejects with `CLOSED` and a message that begins with the operation's name and
 * says what is closed (`queue.ack: the store is closed`, `queue.ack: the transaction is closed`).
 */
export async function rejectsClosed(action: () => Promise<unknown>, operation: string, what: 'store' | 'transaction' = 'store'): Promise<void> {
  const error = await rejects(action, 'CLOSED');
  assert.ok(
    error.message.startsWith(`${operation}: `),
    `the CLOSED error of ${operation} begins with "${operation}: ", but its message is ${show(error.message)}`,
  );
  assert.ok(new RegExp(`\\b${what}\\b`).test(error.message), `the CLOSED error of ${operation} says the ${what} is closed: ${show(error.message)}`);
}

/**
 * Resumes `iterator`, opened before its store or transaction closed, until it rejects: it may finish
 * the page in hand, but must then reject with `CLOSED` naming `operation` (and `what` is closed) —
 * never end as if the data ran out, and never read on.
 */
export async function resumeRejectsClosed(
  iterator: AsyncIterator<unknown>,
  operation: string,
  rows: number,
  what: 'store' | 'transaction' = 'store',
): Promise<void> {
  await rejectsClosed(
    async () => {
      for (let i = 0; i < rows; i++) if ((await iterator.next()).done) return 'the iterator ended as if the data ran out';
      return 'the iterator yielded every row';
    },
    operation,
    what,
  );
}

/** Cases built from a table: one per row, named by `id`, run by `run`, with the row's capability requirement. */
export function tableCases<T extends { requires?: (caps: Readonly<Capabilities>) => boolean }>(
  rows: readonly T[],
  id: (row: T) => string,
  run: (row: T) => ConformanceCase['run'],
): Record<string, Omit<ConformanceCase, 'id' | 'area'>> {
  return Object.fromEntries(rows.map((row) => [id(row), row.requires === undefined ? { run: run(row) } : { requires: row.requires, run: run(row) }]));
}

export const lifecycleCases = defineCases('lifecycle', {
  // Every method of every contract rejects once the store is closed, naming the operation.
  ...tableCases(
    contractCalls,
    (c) => `close.${slug(c.operation)}-rejects`,
    (c) =>
      async function run({ store }) {
        const args = await prepareCalls(store);
        await store.close();
        await rejectsClosed(() => c.call(store, args), c.operation);
      },
  ),
  // An iterator open at close() may finish its page, then rejects: it neither hangs nor reads on.
  ...tableCases(
    contractIterators,
    (i) => `close.${slug(i.operation)}-iterator-stops`,
    (i) =>
      async function run({ store, settings }) {
        await store.events.append('s', evts(settings.readPageSize * 3));
        const iterator = i.open(store, settings.readPageSize);
        assert.equal((await iterator.next()).done, false);
        await store.close();
        await resumeRejectsClosed(iterator, i.operation, settings.readPageSize * 3 + 2);
      },
  ),
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
      await rejectsClosed(() => store.transaction(async () => undefined), 'transaction');
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
      // Notices are hints: a store with two sources (its own and LISTEN/NOTIFY) may say the same twice, and
      // a resync may come at any time. What each says must be true, and none comes after unsubscribing.
      const distinct = (ns: ChangeNotice[]) => [...new Set(ns.map((n) => JSON.stringify(n, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))))];
      assert.deepEqual(
        distinct(notices.filter((n) => n.kind === 'events')),
        distinct([{ kind: 'events', streamId: 's', type: 'B', position: r.lastPosition }]),
        'the append announced (its stream, last type and position), and nothing after unsubscribing',
      );
      if (caps.queue) assert.deepEqual(distinct(notices.filter((n) => n.kind === 'queue')), distinct([{ kind: 'queue', queue: 'q' }]));
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
      assert.deepEqual([...new Set(notices.filter((n) => n.kind === 'queue').map((n) => n.queue))], ['q']);
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
      // Duplicates and resyncs are hints (see wake-ups.announce-commits); a rolled-back write is never announced.
      assert.deepEqual([...new Set(notices.filter((n) => n.kind !== 'resync').map((n) => (n.kind === 'events' ? n.streamId : n.kind)))], ['s']);
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
