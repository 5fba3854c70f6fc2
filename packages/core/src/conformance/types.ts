import type { Capabilities } from '../capabilities.js';
import type { StrataStore } from '../store.js';

/** The areas of the suite; each has its own runner. */
export type ConformanceArea =
  | 'events'
  | 'snapshots'
  | 'queue'
  | 'checkpoints'
  | 'transactions'
  | 'subscriptions'
  | 'transfer'
  | 'validation'
  | 'lifecycle'
  | 'faults';

/** Settings the suite asks the factory to apply to every store it creates. */
export interface ConformanceSettings {
  /** Events per internal read page: small, so that paging is exercised. */
  readPageSize: number;
  /** Snapshots kept per stream. */
  snapshotsToKeep: number;
  /** Default deliveries before a message is dead-lettered. */
  maxAttempts: number;
  /** Largest event, message or snapshot in bytes of JSON (the adapter's `maxPayloadBytes` option). */
  maxPayloadBytes: number;
}

/** Row counts read from the database behind the adapter's back. */
export interface RawCounts {
  /** Rows of stored events. */
  events: number;
  /** Rows of streams (0 where the adapter keeps no stream table). */
  streams: number;
  /** Rows of queue messages in every state. */
  messages: number;
  /** Rows of snapshots. */
  snapshots: number;
  /** Rows of checkpoints. */
  checkpoints: number;
}

/** Raw access to what the adapter stored, so that cases can check that a failed call wrote nothing. */
export interface RawProbes {
  /** Counts the rows of each kind in the store under test. */
  counts(): Promise<RawCounts>;
}

/** How to run the suite against an adapter. */
export interface ConformanceOptions {
  /** Name shown in the test titles. */
  name: string;
  /**
   * Returns a fresh, isolated store on every call, configured with `settings`. Stores from two calls
   * must not see each other's data.
   */
  factory: (settings: ConformanceSettings) => StrataStore | Promise<StrataStore>;
  /** Cleans up after a case. @defaultValue closes the store */
  teardown?: (store: StrataStore) => void | Promise<void>;
  /** Raw probes of the store's database, for read-backs behind the adapter's back. */
  probes?: (store: StrataStore) => RawProbes;
  /**
   * Case ids expected to fail, with the reason; they run as `it.fails`, so a fix shows up as a
   * failure to remove the entry. The only escape hatch.
   */
  knownFailures?: Readonly<Record<string, string>>;
  /**
   * Per-case timeout in milliseconds (cases that need longer set their own): a case that has not settled
   * by then fails with its id, under vitest and under `checkConformance` alike. @defaultValue 20000
   */
  timeoutMs?: number;
  /**
   * Multiplier for the suite's short timeouts and waits (visibility timeouts, delays), for adapters
   * whose round trips are slow. @defaultValue 1
   */
  timeScale?: number;
  /** Overrides of the settings passed to the factory. */
  settings?: Partial<ConformanceSettings>;
  /**
   * The capabilities the adapter is meant to declare. The suite picks its cases by what the store
   * declares, so a flag turned off by mistake (`queue: false`) would otherwise skip every case of that
   * feature and the run would pass. When given, the case `lifecycle.settings.capabilities-as-expected`
   * fails unless the store declares exactly these values for the flags named here.
   *
   * @example `{ transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, transfer: true }`
   */
  capabilities?: Partial<Capabilities>;
  /**
   * Opens a sibling of `store`: a second store over the same data, as another process of the same
   * application would open it — its own connection (or pool), the same database and schema, the same
   * `settings`. Whatever one of them commits, the other reads. It must not create, migrate destructively
   * or drop anything the first store relies on (open it without migrations where the adapter has that
   * switch), and it must release what it opened on `close()`: the harness closes every sibling with
   * `close()` after the case, within the teardown bound, before it tears the first store down.
   *
   * The cases that need a sibling (ids with `.sibling.`: reads across connections, claims, leases and
   * wake-ups between them) run only when this is given; without it they do not apply, like the cases of
   * a capability the adapter lacks. Leave it out where the adapter has no second way into the same data
   * (an in-memory database private to one connection).
   *
   * @example
   * ```ts
   * runConformance({
   *   name: 'my adapter (file)',
   *   factory: (settings) => openMyStore(freshFile(), settings),
   *   sibling: (store, settings) => openMyStore((store as MyStore).file, { ...settings, migrate: false }),
   * })
   * ```
   */
  sibling?: (store: StrataStore, settings: ConformanceSettings) => StrataStore | Promise<StrataStore>;
  /**
   * Ways to make the database fail under a store, so that the cases of the `faults` area check what a
   * lost connection and a held write lock do to it: a typed, bounded error naming the operation and its
   * stream, queue or consumer (never a payload value), and nothing half-written. Each hook acts on a
   * store from the factory. The cases of a hook that is not given do not apply (like those of a
   * capability the adapter lacks); leave out a hook the adapter cannot offer honestly.
   *
   * @example
   * ```ts
   * runConformance({
   *   name: 'my adapter (file)',
   *   factory: (settings) => openMyStore(freshFile(), { ...settings, busyTimeoutMs: 150 }),
   *   faults: {
   *     loseConnection: {
   *       kind: 'permanent',
   *       cut: async (store) => {
   *         (store as MyStore).client.close();
   *       },
   *     },
   *     holdWriteLock: async (store) => {
   *       const other = openRawConnection((store as MyStore).file);
   *       other.exec('BEGIN IMMEDIATE');
   *       return async () => {
   *         other.close();
   *       };
   *     },
   *   },
   * })
   * ```
   */
  faults?: ConformanceFaults;
}

/** How a run makes the database fail under a store ({@link ConformanceOptions.faults}). */
export interface ConformanceFaults {
  /**
   * Cuts the store off from its database, as a crashed server, a killed session or the application
   * closing the handle would. `kind` says what must follow:
   * - `'permanent'`: the store can never work again (SQLite's handle closed); every later call fails with
   *   `CONNECTION`, `retryable: false`, and `close()` still resolves.
   * - `'transient'`: the adapter may recover (a pool reconnecting); every call fails with a retryable
   *   `CONNECTION` (or `TIMEOUT`) error or succeeds, and within a few retries it works again.
   */
  loseConnection?: {
    /** Whether the store can recover from the loss. */
    kind: 'permanent' | 'transient';
    /** Cuts `store` off; resolves once its connection is gone. */
    cut: (store: StrataStore) => Promise<void>;
  };
  /**
   * Makes another connection hold the database's write lock, and resolves to a function releasing it.
   * While it is held, the store's writes must fail with `TIMEOUT`, `retryable: true`, within the store's
   * own bounded wait (configure it short in the factory: 100–250 ms), and its reads must still work. The
   * harness releases a lock the case left held before it tears the store down.
   */
  holdWriteLock?: (store: StrataStore) => Promise<() => Promise<void>>;
}

/**
 * What a run offers beyond the adapter's capabilities, for the cases that need more than one store on
 * the same data or a way to make the database fail (see {@link ConformanceCase.requires}).
 */
export interface RunFeatures {
  /** The run can open a sibling store ({@link ConformanceOptions.sibling} was given). */
  sibling: boolean;
  /** The run names the capabilities the adapter is meant to declare ({@link ConformanceOptions.capabilities}). */
  expectsCapabilities: boolean;
  /**
   * How the run can cut a store off from its database ({@link ConformanceFaults.loseConnection}); absent
   * when it cannot (and from runners written before it existed).
   */
  connectionLoss?: 'permanent' | 'transient';
  /** The run can make another connection hold the write lock ({@link ConformanceFaults.holdWriteLock}). @defaultValue false */
  writeLock?: boolean;
}

/** What a case receives. */
export interface CaseContext {
  /** A fresh store from the factory. */
  store: StrataStore;
  /** Its capabilities. */
  caps: Readonly<Capabilities>;
  /** The settings it was created with. */
  settings: ConformanceSettings;
  /** The capabilities the run expects the adapter to declare ({@link ConformanceOptions.capabilities}); empty when not given. */
  expectedCapabilities: Readonly<Partial<Capabilities>>;
  /** Raw probes, when the adapter offers them. */
  probes: RawProbes | undefined;
  /** Scales a duration by the run's `timeScale`. */
  ms(duration: number): number;
  /**
   * Another fresh, isolated store from the factory, with the same settings, torn down after the case:
   * for cases that move records from one store to another.
   */
  another(): Promise<StrataStore>;
  /**
   * A sibling of `store` from {@link ConformanceOptions.sibling}: a second store on the same data, over
   * its own connection, closed after the case (before `store` is torn down). Each call opens another.
   * Rejects when the run offers no sibling, so only cases whose `requires` asks for one may call it.
   */
  sibling(): Promise<StrataStore>;
  /**
   * Cuts `store` off from its database ({@link ConformanceFaults.loseConnection}). Rejects when the run
   * offers no such hook, so only cases whose `requires` asks for `run.connectionLoss` may call it.
   * Resolves to the kind of loss the run declares.
   */
  loseConnection(): Promise<'permanent' | 'transient'>;
  /**
   * Makes another connection hold the write lock ({@link ConformanceFaults.holdWriteLock}); resolves to
   * its release. Rejects when the run offers no such hook (the case must require `run.writeLock`).
   */
  holdWriteLock(): Promise<() => Promise<void>>;
}

/** One conformance case: data, turned into a test by the runner. */
export interface ConformanceCase {
  /** Stable dotted id: `area.operation.behaviour`. */
  id: string;
  /** Area it belongs to. */
  area: ConformanceArea;
  /**
   * Which adapters it applies to, by capability and by what the run offers (`run.sibling`: a second
   * store on the same data can be opened; `run.connectionLoss`, `run.writeLock`: the `faults` hooks); all
   * when absent. A case that does not apply is not run.
   * A runner of its own that passes no `run` (written before it existed) gets none of the cases that
   * need what a run offers.
   */
  requires?: (caps: Readonly<Capabilities>, run?: Readonly<RunFeatures>) => boolean;
  /** Per-case timeout, when longer than the default. */
  timeoutMs?: number;
  /** Runs the case; throws on failure. */
  run(ctx: CaseContext): Promise<void>;
}

/** The default settings handed to factories. */
export const DEFAULT_SETTINGS: Readonly<ConformanceSettings> = Object.freeze({
  readPageSize: 10,
  // Not 3, the reference adapters' own default: a factory that drops the setting must be seen to.
  snapshotsToKeep: 2,
  maxAttempts: 3,
  maxPayloadBytes: 65_536,
});
