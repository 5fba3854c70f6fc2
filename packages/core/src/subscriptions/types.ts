/** A consumer's stored checkpoint. */
export interface Checkpoint {
  /** The consumer's name. */
  consumer: string;
  /** The last global position it handled. */
  position: bigint;
  /** When it was last set. */
  updatedAt: Date;
}

/** Options of {@link CheckpointStore.set}. */
export interface SetCheckpointOptions {
  /**
   * Compare-and-set: the position the checkpoint must have now (`null`: it must not exist yet).
   * Omit it for an unconditional set.
   */
  expected?: bigint | null;
}

/** Options of {@link CheckpointStore.acquireLease}. */
export interface LeaseOptions {
  /** Who asks: a unique id per running instance. */
  owner: string;
  /** How long the lease lasts unless renewed. */
  ttlMs: number;
}

/**
 * Named consumers' positions, stored in the adapter's database so that they take part in
 * transactions, and leases that let one instance of a named consumer run at a time.
 */
export interface CheckpointStore {
  /** The consumer's checkpoint, or `null`. */
  get(consumer: string): Promise<Checkpoint | null>;
  /**
   * Every stored checkpoint, ordered by consumer name bytewise, the same on every adapter: the order
   * of the names' UTF-8 bytes, which is Unicode code point order (PostgreSQL's `COLLATE "C"`, SQLite's
   * `BINARY`; {@link compareNames} in JavaScript). It differs from JavaScript's default string order (UTF-16 code
   * units) only where a name has a character above U+FFFF at the same place as another's
   * U+E000–U+FFFF: the former sorts last. Leases are not checkpoints: a consumer that holds a lease but
   * never set a position is not listed. Inside a transaction (`tx.checkpoints.list()`) it includes the
   * transaction's own uncommitted checkpoints.
   * @throws `CLOSED` after the store (or the transaction) closed
   * @throws `VALIDATION` when called on the store inside its own `transaction()` callback (use `tx`)
   */
  list(): Promise<Checkpoint[]>;
  /**
   * Sets the consumer's position.
   * @throws `CONCURRENCY` when `expected` is given and does not match the stored position
   */
  set(consumer: string, position: bigint, options?: SetCheckpointOptions): Promise<void>;
  /**
   * Takes or renews the consumer's lease for `owner`. Returns `true` when `owner` now holds it,
   * `false` when another owner holds an unexpired lease.
   */
  acquireLease(consumer: string, options: LeaseOptions): Promise<boolean>;
  /** Gives up the lease if `owner` holds it. */
  releaseLease(consumer: string, owner: string): Promise<void>;
}

/** A change a store announces after commit; only a hint to read again, never the data itself. */
export type ChangeNotice = EventsNotice | QueueNotice | ResyncNotice;

/**
 * Anything may have changed: every reader reads again. Sent by a wake-up source that may have missed
 * notices (a listener that reconnected, a backstop poll, a notice too large to say which queues).
 */
export interface ResyncNotice {
  /** Discriminator. */
  kind: 'resync';
}

/** Events were appended (one notice per append). */
export interface EventsNotice {
  /** Discriminator. */
  kind: 'events';
  /** The stream appended to. */
  streamId: string;
  /** Type of the last event appended. */
  type: string;
  /** Position of the last event appended. */
  position: bigint;
}

/** Messages of a queue became ready (sent, nacked or redriven). */
export interface QueueNotice {
  /** Discriminator. */
  kind: 'queue';
  /** The queue. */
  queue: string;
}

/**
 * Where a store announces committed changes, in process (an emitter), over LISTEN/NOTIFY, or not at
 * all (then consumers poll). Notices are hints: they may be lost or coalesced, and one may come for
 * nothing new (a duplicate, or a `resync` after a change the source cannot name); readers always re-read
 * the store.
 */
export interface WakeUpSource {
  /** Calls `listener` after each committed change; returns a function that stops it. */
  onChange(listener: (notice: ChangeNotice) => void): () => void;
  /**
   * Calls `listener` once when the store closes, so that loops waiting for a change (`subscribe()`,
   * `consume()`) stop at once instead of at their next poll; returns a function that stops it.
   * Optional: without it such loops notice the close at their next poll.
   */
  onClose?(listener: () => void): () => void;
}
