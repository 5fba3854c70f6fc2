import type { Capabilities } from './capabilities.js';
import type { EventStore } from './events/types.js';
import type { StrataLogger } from './logger.js';
import type { MessageQueue } from './queue/types.js';
import type { SnapshotStore } from './snapshots/types.js';
import type { CheckpointStore, WakeUpSource } from './subscriptions/types.js';
import type { StoreTelemetry } from './telemetry.js';
import type { RecordTransfer } from './transfer/types.js';

/**
 * The contracts available inside {@link StrataStore.transaction}; all writes commit together.
 *
 * @typeParam TDb - the adapter's own database handle (a Drizzle database on the SQL adapters,
 *   `undefined` on the memory adapter), given as {@link StoreTransaction.db}
 */
export interface StoreTransaction<TDb = unknown> {
  /** Event store bound to the transaction. */
  readonly events: EventStore;
  /** Message queue bound to the transaction: sent messages become visible at commit. */
  readonly queue: MessageQueue;
  /** Snapshot store bound to the transaction. */
  readonly snapshots: SnapshotStore;
  /** Checkpoint store bound to the transaction. */
  readonly checkpoints: CheckpointStore;
  /**
   * Export and import of canonical records (see {@link RecordTransfer}); inside a transaction, imports
   * commit with its other writes. Rejects with `NOT_SUPPORTED` when `capabilities.transfer` is false.
   */
  readonly transfer: RecordTransfer;
  /**
   * The adapter's own database handle, for the application's tables: inside a transaction, the
   * database transaction itself (a Drizzle transaction on the SQL adapters), so that rows written
   * through it commit or roll back with Strata's writes — the way a projection updates its read model
   * and its checkpoint at once. On the store, the database the store runs on. `undefined` where the
   * adapter has no database (the memory adapter).
   */
  readonly db: TDb;
}

/**
 * A store: what every adapter's factory returns (`createMemoryStore()`, `createPostgresStore()`,
 * `createSqliteStore()`, …). Write application code against this interface only.
 *
 * @typeParam TDb - the adapter's own database handle, as {@link StoreTransaction.db}
 */
export interface StrataStore<TDb = unknown> extends StoreTransaction<TDb> {
  /** What this adapter offers beyond the event store. */
  readonly capabilities: Readonly<Capabilities>;
  /** Announces commits; a no-op source when `capabilities.wakeUps` is false. */
  readonly wakeUps: WakeUpSource;
  /**
   * The logger given to the adapter's factory, if any. `subscribe()` and `consume()` use it when they
   * are not given one of their own.
   */
  readonly logger?: StrataLogger;
  /**
   * Where `subscribe()` and `consume()` report batches and handler calls, when the store was
   * instrumented (`instrument()` from `@strata/core/otel`). Adapters leave it out.
   */
  readonly telemetry?: StoreTelemetry;
  /**
   * Runs `fn` in one transaction across events, queue, snapshots and checkpoints: its writes commit
   * together when `fn` resolves, and none remain when it throws (the error is rethrown). Using the
   * transaction object after `fn` settled rejects with `CLOSED`.
   *
   * Inside `fn`, write through its `tx` argument only: a call on the store itself (its events, queue,
   * snapshots or checkpoints, `transaction()` again, or `close()`) made from inside `fn` rejects at once
   * with `VALIDATION` and writes nothing, on every adapter. Calls from unrelated async work wait for
   * the transaction as usual.
   *
   * @throws `NOT_SUPPORTED` when `capabilities.transactions` is false; `VALIDATION` when called inside
   *   a transaction callback of the same store
   */
  transaction<T>(fn: (tx: StoreTransaction<TDb>) => Promise<T>): Promise<T>;
  /** Releases the store's resources; every later call rejects with `CLOSED`. Closing twice is a no-op. */
  close(): Promise<void>;
}
