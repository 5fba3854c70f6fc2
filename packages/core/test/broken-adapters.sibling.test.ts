import { createMemoryStore, type StrataStore, silentWakeUps, type WakeUpSource, withWakeUps } from '../src/index.js';
import { type Breakage, describeBrokenAdapters, type SiblingFactory } from './broken.js';

// The cases between two stores on the same data (`*.sibling.*`). The memory adapter keeps its tables
// private to one store object, so the "database" here is one memory store, and a sibling "connection"
// is a second store object over it: same tables, same commits, its own close(). Its wake-ups are the
// database's own (every commit, through either object), so the intact store may declare cross-process
// wake-ups.

/** The memory store a broken wrapper was made from: the database its siblings connect to. */
const databaseOf = new WeakMap<StrataStore, StrataStore>();

/** A second store object over `store`'s tables; closing it leaves them open, as closing a connection would. */
const connectionTo = (store: StrataStore): StrataStore => ({ ...store, close: async () => undefined });

/** The table's sibling: another connection to the same database. */
const sameDatabase: SiblingFactory = (store) => connectionTo(databaseOf.get(store) ?? store);

/** Declares the wake-ups that the shared emitter makes true: every commit through any connection. */
const crossProcess: Breakage = (s) => withWakeUps(s, silentWakeUps, { crossProcess: true });

/**
 * A connection to `s`'s database that declares cross-process wake-ups and gives `onChange` for them
 * (and `more`, the parts it changes besides).
 */
function connectionWithWakeUps(s: StrataStore, onChange: WakeUpSource['onChange'], more: Partial<StrataStore> = {}): StrataStore {
  const broken: StrataStore = { ...s, ...more, capabilities: Object.freeze({ ...s.capabilities, crossProcessWakeUps: true }), wakeUps: { onChange } };
  databaseOf.set(broken, s);
  return broken;
}

/** Counts the calls in flight on the store object's contracts and `transaction()`, to tell its own commits from others'. */
function ownCommitsOnly(s: StrataStore): StrataStore {
  let inFlight = 0;
  const track = <F extends (...args: never[]) => unknown>(fn: F, self: unknown): F =>
    ((...args: never[]) => {
      inFlight++;
      let result: unknown;
      try {
        result = fn.apply(self, args);
      } catch (error) {
        inFlight--;
        throw error;
      }
      if (result instanceof Promise) return result.finally(() => inFlight--);
      inFlight--;
      return result;
    }) as F;
  const tracked = <T extends object>(contract: T): T =>
    Object.fromEntries(Object.entries(contract).map(([k, v]) => [k, typeof v === 'function' ? track(v as (...args: never[]) => unknown, contract) : v])) as T;
  return connectionWithWakeUps(s, (listener) => s.wakeUps.onChange((notice) => (inFlight > 0 ? listener(notice) : undefined)), {
    events: tracked(s.events),
    queue: tracked(s.queue),
    snapshots: tracked(s.snapshots),
    checkpoints: tracked(s.checkpoints),
    transaction: track(s.transaction, s),
  });
}

/** How a cross-process adapter starts and stops the poller that notices other connections' commits. */
interface Poller {
  subscribed(): void;
  unsubscribed(): void;
  running(): boolean;
}

/** Declares cross-process wake-ups whose notices pass only while `poller` says it runs. */
function polled(s: StrataStore, poller: Poller): StrataStore {
  return connectionWithWakeUps(s, (listener) => {
    poller.subscribed();
    const off = s.wakeUps.onChange((notice) => (poller.running() ? listener(notice) : undefined));
    return () => {
      off();
      poller.unsubscribed();
    };
  });
}

/** A poller that the first listener to leave stops for every listener. */
const stoppedByAnyLeaver: Breakage = (s) => {
  let on = false;
  return polled(s, { subscribed: () => (on = true), unsubscribed: () => (on = false), running: () => on });
};

/** A poller started by the first listener and stopped by the last, counting every unsubscribe call (even a repeated one). */
const countsRepeatedUnsubscribes: Breakage = (s) => {
  let listeners = 0;
  let on = false;
  return polled(s, {
    subscribed: () => {
      if (++listeners === 1) on = true;
    },
    unsubscribed: () => {
      if (--listeners === 0) on = false;
    },
    running: () => on,
  });
};

/** Cross-process wake-ups that start only a moment after the listener subscribed, dropping what was committed meanwhile. */
const startsLate: Breakage = (s) =>
  connectionWithWakeUps(s, (listener) => {
    const since = Date.now();
    return s.wakeUps.onChange((notice) => (Date.now() - since > 300 ? listener(notice) : undefined));
  });

/** Nacks in flight on any connection to a database, as a poller that only looks for new rows would miss them. */
const nacking = new WeakMap<StrataStore, { n: number }>();
function nacksOf(database: StrataStore): { n: number } {
  const count = nacking.get(database) ?? { n: 0 };
  nacking.set(database, count);
  return count;
}

/** Cross-process wake-ups that announce new events and messages but not a nack made through another connection. */
const missesForeignNacks: Breakage = (s) =>
  connectionWithWakeUps(s, (listener) => s.wakeUps.onChange((notice) => (nacksOf(s).n > 0 ? undefined : listener(notice))));

/** The sibling of {@link missesForeignNacks}: its nacks are counted while they run. */
const countingNacks: SiblingFactory = (store) => {
  const database = databaseOf.get(store) ?? store;
  const connection = connectionTo(database);
  return {
    ...connection,
    queue: {
      ...connection.queue,
      async nack(receipt, options) {
        nacksOf(database).n++;
        try {
          return await connection.queue.nack(receipt, options);
        } finally {
          nacksOf(database).n--;
        }
      },
    },
  };
};

describeBrokenAdapters(
  'broken adapters: two stores on the same data',
  {
    'opens its sibling on another, empty database': {
      breakage: crossProcess,
      sibling: (_, settings) => createMemoryStore(settings),
      mustFail: [
        'events.sibling.appends-read-across',
        'events.sibling.same-expected-version-one-wins',
        'queue.sibling.claims-are-exclusive',
        'queue.sibling.receipts-work-through-either-store',
        'queue.sibling.dedup-across',
        'checkpoints.sibling.leases-exclude-across',
        'checkpoints.sibling.read-and-compare-across',
        'snapshots.sibling.read-across',
        'subscriptions.sibling.subscribe-delivers-sibling-appends',
        'subscriptions.sibling.consume-handles-sibling-sends',
        'lifecycle.sibling.cross-process-wake-ups',
        'lifecycle.sibling.cross-process-wake-ups-outlive-a-leaving-listener',
        'lifecycle.sibling.cross-process-wake-ups-after-a-double-unsubscribe',
        'lifecycle.sibling.cross-process-wake-ups-while-the-store-is-busy',
        'queue.sibling.nack-wakes-the-other-store',
      ],
    },
    'claims a message on one connection without holding it (the other receives it too)': {
      breakage: (s) => s,
      sibling: (store) => {
        const connection = connectionTo(store);
        return {
          ...connection,
          queue: {
            ...connection.queue,
            async receive(queue, options) {
              const ds = await connection.queue.receive(queue, options);
              for (const d of ds) await connection.queue.nack(d.receipt);
              return ds;
            },
          },
        };
      },
      mustFail: ['queue.sibling.claims-are-exclusive'],
    },
    "declares cross-process wake-ups but announces only its own commits (not its sibling's)": {
      breakage: ownCommitsOnly,
      mustFail: ['lifecycle.sibling.cross-process-wake-ups'],
    },
    "stops noticing other connections' commits for every listener when one of them leaves": {
      breakage: stoppedByAnyLeaver,
      mustFail: ['lifecycle.sibling.cross-process-wake-ups-outlive-a-leaving-listener'],
    },
    "starts listening for other connections' commits late, missing what they commit meanwhile": {
      breakage: startsLate,
      mustFail: ['lifecycle.sibling.cross-process-wake-ups-while-the-store-is-busy'],
    },
    'does not announce a nack made through another connection (only new events and messages)': {
      breakage: missesForeignNacks,
      sibling: countingNacks,
      mustFail: ['queue.sibling.nack-wakes-the-other-store'],
    },
    "counts a repeated unsubscribe, so the next listener is never told of other connections' commits": {
      breakage: countsRepeatedUnsubscribes,
      mustFail: ['lifecycle.sibling.cross-process-wake-ups-after-a-double-unsubscribe'],
    },
  },
  // The wake-up cases fail by waiting out their bound: a fifth of it (1 s) is plenty for the memory store.
  { sibling: sameDatabase, intact: crossProcess, timeScale: 0.2 },
);
