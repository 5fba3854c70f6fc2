/**
 * Every error Strata throws on purpose is a {@link StrataError} with a stable string `code`.
 * Test and branch on codes (or {@link isStrataError}), not on `instanceof`: a brand registered with
 * `Symbol.for` makes the check work across duplicate installs of this package.
 *
 * @module
 */

const BRAND = Symbol.for('@strata/core/StrataError');

/**
 * The stable codes carried by {@link StrataError}. New codes may be added in minor releases; existing
 * codes never change meaning.
 *
 * - `CONCURRENCY` — a stream or checkpoint was not where the caller expected; retryable after reloading.
 * - `VALIDATION` — bad input, rejected before anything was written (also: the store called inside its
 *   own `transaction()` callback, where `tx` must be used).
 * - `CLOSED` — the store or a finished transaction was used.
 * - `STALE_RECEIPT` — a well-formed receipt no longer owns its message.
 * - `NOT_SUPPORTED` — the adapter's capabilities do not include the operation.
 * - `CONNECTION` — the database could not be reached or the connection broke; retryable.
 * - `SERIALIZATION` — stored data could not be decoded, or a value encoded.
 * - `EVENT_ID_CONFLICT` — an event id is already stored with another stream, version or content.
 * - `MIGRATION` — Strata's tables are missing (run `migrate()`), or a data migration failed.
 * - `TIMEOUT` — a wait passed its bound (a connection, a lock, a cancelled statement); retryable.
 * - `INTERNAL` — a driver error with no better code; the driver's code is in the message.
 */
export type StrataErrorCode =
  | 'CONCURRENCY'
  | 'VALIDATION'
  | 'CLOSED'
  | 'STALE_RECEIPT'
  | 'NOT_SUPPORTED'
  | 'CONNECTION'
  | 'SERIALIZATION'
  | 'EVENT_ID_CONFLICT'
  | 'MIGRATION'
  | 'TIMEOUT'
  | 'INTERNAL';

/** Options shared by every {@link StrataError} constructor. */
export interface StrataErrorOptions {
  /** The error that caused this one, usually a driver error. */
  cause?: unknown;
  /** Whether repeating the same call may succeed. @defaultValue depends on the code */
  retryable?: boolean;
}

/** Codes for which a retry of the same operation may succeed. */
const RETRYABLE_CODES: ReadonlySet<StrataErrorCode> = new Set(['CONCURRENCY', 'CONNECTION', 'TIMEOUT']);

/**
 * Base class of every error Strata throws on purpose.
 *
 * Messages name the operation and the stream, queue or consumer concerned, never the bound values of
 * a write, so that they are safe to log.
 */
export class StrataError extends Error {
  /** Stable machine-readable code. */
  readonly code: StrataErrorCode;
  /** Whether repeating the same call may succeed (after reloading state, for `CONCURRENCY`). */
  readonly retryable: boolean;

  /**
   * @param code - stable error code
   * @param message - human-readable message
   * @param options - cause and retryability
   */
  constructor(code: StrataErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_CODES.has(code);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * Tells whether `error` is a {@link StrataError}, optionally with the given code. Works across
 * duplicate installs of `@strata/core`.
 *
 * @example
 * ```ts
 * try { await store.events.append(id, events, { expectedVersion: 3 }) }
 * catch (e) { if (isStrataError(e, 'CONCURRENCY')) reload() else throw e }
 * ```
 */
export function isStrataError<C extends StrataErrorCode>(error: unknown, code?: C): error is StrataErrorOf<C> {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (error as StrataError).code === code;
}

/**
 * The error class each code is raised with, so that {@link isStrataError} narrows to it:
 * `isStrataError(e, 'CONCURRENCY')` gives `e.actualVersion`, `isStrataError(e, 'CONNECTION')` gives
 * `e.outcomeUnknown`. Codes without a class of their own are plain {@link StrataError}s.
 */
export interface StrataErrorClasses {
  /** {@link ConcurrencyError}. */
  CONCURRENCY: ConcurrencyError;
  /** {@link ValidationError}. */
  VALIDATION: ValidationError;
  /** {@link StoreClosedError}. */
  CLOSED: StoreClosedError;
  /** {@link StaleReceiptError}. */
  STALE_RECEIPT: StaleReceiptError;
  /** {@link NotSupportedError}. */
  NOT_SUPPORTED: NotSupportedError;
  /** {@link ConnectionError}. */
  CONNECTION: ConnectionError;
  /** {@link SerializationError}. */
  SERIALIZATION: SerializationError;
  /** {@link EventIdConflictError}. */
  EVENT_ID_CONFLICT: EventIdConflictError;
  /** {@link MigrationError}. */
  MIGRATION: MigrationError;
  /** A plain {@link StrataError}. */
  TIMEOUT: StrataError;
  /** A plain {@link StrataError}. */
  INTERNAL: StrataError;
}

/**
 * A `CONNECTION` error that no retry can fix: the application closed the store's database handle (a
 * PGlite instance, a pool, a SQLite connection) or the SQLite file went away. `subscribe()` and
 * `consume()` stop on it instead of retrying for ever.
 */
export function isPermanentLoss(error: unknown): boolean {
  return isStrataError(error, 'CONNECTION') && !error.retryable;
}

/** A {@link StrataError} known to carry code `C`: the class that code is raised with. */
export type StrataErrorOf<C extends StrataErrorCode> = StrataErrorClasses[C] & {
  /** The code the check asked for. */
  readonly code: C;
};

/** What a {@link ConcurrencyError} was about. */
export interface ConcurrencyErrorDetails {
  /** The stream whose version did not match, for append conflicts. */
  streamId?: string;
  /** The expected version given to `append`. */
  expectedVersion?: number | string;
  /** The stream's version when the append was attempted (0 when the stream does not exist). */
  actualVersion?: number;
  /** The consumer whose checkpoint or lease did not match, for checkpoint conflicts. */
  consumer?: string;
  /** The checkpoint position given as `expected` (`null`: no checkpoint expected). */
  expectedPosition?: bigint | null;
  /** The checkpoint position found (`null`: none stored). */
  actualPosition?: bigint | null;
}

/**
 * An optimistic-concurrency check failed: a stream was not at the expected version, or a checkpoint
 * was not at the expected position. Nothing was written. Code `CONCURRENCY`, retryable after
 * reloading state.
 */
export class ConcurrencyError extends StrataError {
  /** The stream concerned, for append conflicts. */
  readonly streamId: string | undefined;
  /** The expected version given to `append`. */
  readonly expectedVersion: number | string | undefined;
  /** The stream's actual version (0 when it does not exist). */
  readonly actualVersion: number | undefined;
  /** The consumer concerned, for checkpoint conflicts. */
  readonly consumer: string | undefined;
  /** The expected checkpoint position (`null`: none expected). */
  readonly expectedPosition: bigint | null | undefined;
  /** The actual checkpoint position (`null`: none stored). */
  readonly actualPosition: bigint | null | undefined;

  /**
   * @param message - human-readable message
   * @param details - what conflicted
   * @param options - cause
   */
  constructor(message: string, details: ConcurrencyErrorDetails, options: StrataErrorOptions = {}) {
    super('CONCURRENCY', message, options);
    this.name = 'ConcurrencyError';
    this.streamId = details.streamId;
    this.expectedVersion = details.expectedVersion;
    this.actualVersion = details.actualVersion;
    this.consumer = details.consumer;
    this.expectedPosition = details.expectedPosition;
    this.actualPosition = details.actualPosition;
  }

  /**
   * Builds the error an append throws when the stream's version does not match.
   *
   * @param streamId - the stream appended to
   * @param expectedVersion - what the caller expected
   * @param actualVersion - the stream's version (0 when it does not exist)
   */
  static forStream(streamId: string, expectedVersion: number | string, actualVersion: number): ConcurrencyError {
    return new ConcurrencyError(
      `append to stream ${JSON.stringify(streamId)} expected version ${String(expectedVersion)} but the stream is at version ${actualVersion}`,
      { streamId, expectedVersion, actualVersion },
    );
  }

  /**
   * Builds the error a checkpoint compare-and-set throws when the stored position does not match.
   *
   * @param consumer - the consumer whose checkpoint was set
   * @param expectedPosition - what the caller expected (`null`: no checkpoint)
   * @param actualPosition - what is stored (`null`: no checkpoint)
   */
  static forCheckpoint(consumer: string, expectedPosition: bigint | null, actualPosition: bigint | null): ConcurrencyError {
    const show = (p: bigint | null) => (p === null ? 'none' : p.toString());
    return new ConcurrencyError(`checkpoint of consumer ${JSON.stringify(consumer)} expected at ${show(expectedPosition)} but is at ${show(actualPosition)}`, {
      consumer,
      expectedPosition,
      actualPosition,
    });
  }
}

/**
 * An argument was rejected before anything was written. Code `VALIDATION`; `field` names the
 * offending argument as a path (`events[2].data.items[0]`).
 */
export class ValidationError extends StrataError {
  /** Path of the rejected argument, such as `streamId` or `events[0].data.total`. */
  readonly field: string;

  /**
   * @param field - path of the rejected argument
   * @param problem - what is wrong with it, completing "`field` …"
   * @param options - cause, when a database limit was hit
   */
  constructor(field: string, problem: string, options: Omit<StrataErrorOptions, 'retryable'> = {}) {
    super('VALIDATION', `${field} ${problem}`, options);
    this.name = 'ValidationError';
    this.field = field;
  }
}

/**
 * The store (or a finished transaction) was used after it was closed. Code `CLOSED`. Its message begins
 * with the operation and a colon (`queue.ack: the store is closed`); the conformance suite holds
 * adapters to that, so throw this class rather than an error of your own.
 */
export class StoreClosedError extends StrataError {
  /**
   * @param operation - the operation that was attempted, such as `events.append`
   * @param what - what is closed
   * @defaultValue what: `'store'`
   */
  constructor(operation: string, what = 'store') {
    super('CLOSED', `${operation}: the ${what} is closed`);
    this.name = 'StoreClosedError';
  }
}

/**
 * An `ack`, `nack` or `extendVisibility` used a receipt that no longer owns its message: the
 * visibility timeout passed (the message may be with another consumer), or the message was already
 * acked. Nothing changed. Code `STALE_RECEIPT`.
 */
export class StaleReceiptError extends StrataError {
  /**
   * @param operation - `queue.ack`, `queue.nack` or `queue.extendVisibility`
   */
  constructor(operation: string) {
    super('STALE_RECEIPT', `${operation}: the receipt is stale (its visibility timeout passed or the message was already settled)`);
    this.name = 'StaleReceiptError';
  }
}

/** The adapter does not offer this operation; see its declared capabilities. Code `NOT_SUPPORTED`. */
export class NotSupportedError extends StrataError {
  /**
   * @param operation - the operation attempted
   * @param capability - the capability flag that is false
   */
  constructor(operation: string, capability: string) {
    super('NOT_SUPPORTED', `${operation} is not supported by this adapter (capability "${capability}" is off)`);
    this.name = 'NotSupportedError';
  }
}

/**
 * An event id already stored does not match the event being appended: it is in another stream, at
 * another version, or with other content. Nothing was written. Code `EVENT_ID_CONFLICT`.
 */
export class EventIdConflictError extends StrataError {
  /** The conflicting event id. */
  readonly eventId: string;
  /** The stream the append targeted. */
  readonly streamId: string;

  /**
   * @param streamId - the stream appended to
   * @param eventId - the conflicting event id
   * @param reason - how it conflicts
   * @param options - cause
   */
  constructor(streamId: string, eventId: string, reason: string, options: StrataErrorOptions = {}) {
    super('EVENT_ID_CONFLICT', `append to stream ${JSON.stringify(streamId)}: event id ${eventId} ${reason}`, options);
    this.name = 'EventIdConflictError';
    this.eventId = eventId;
    this.streamId = streamId;
  }
}

/** Stored data could not be decoded, or a value could not be encoded for storage. Code `SERIALIZATION`. */
export class SerializationError extends StrataError {
  /**
   * @param message - what could not be (de)serialized, naming the stream or queue
   * @param options - cause
   */
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('SERIALIZATION', message, options);
    this.name = 'SerializationError';
  }
}

/** Options of {@link ConnectionError}. */
export interface ConnectionErrorOptions extends StrataErrorOptions {
  /**
   * The connection was lost after a write had been sent (a `COMMIT`, or a statement outside a
   * transaction), so it may have been applied. @defaultValue false
   */
  outcomeUnknown?: boolean;
}

/**
 * The database could not be reached, dropped the connection, or the connection is no longer usable
 * (a killed backend, a cut socket, a server restart, a closed PGlite, a vanished SQLite file). Code
 * `CONNECTION`, retryable: the same call may succeed once the database is back.
 *
 * When `outcomeUnknown` is false the call changed nothing (it failed before anything was sent, or
 * inside a transaction that the server rolled back with the connection). When it is true the write
 * may have been applied: retry appends with the same event ids (an idempotent retry returns the
 * original result), and sends with the same `dedupId`.
 */
export class ConnectionError extends StrataError {
  /** Whether the write may have been applied before the connection was lost. */
  readonly outcomeUnknown: boolean;

  /**
   * @param message - the operation and what failed
   * @param options - cause, and whether the outcome is unknown
   */
  constructor(message: string, options: ConnectionErrorOptions = {}) {
    super('CONNECTION', message, options);
    this.name = 'ConnectionError';
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}

/** A data migration between adapters failed or was refused. Code `MIGRATION`. */
export class MigrationError extends StrataError {
  /**
   * @param message - what failed
   * @param options - cause
   */
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('MIGRATION', message, options);
    this.name = 'MigrationError';
  }
}

/** What a failed operation was about, for error messages: the operation and its stream, queue or consumer. */
export interface ErrorSubject {
  /** The operation, such as `events.append`. */
  operation: string;
  /** The stream concerned. */
  streamId?: string | undefined;
  /** The queue concerned. */
  queue?: string | undefined;
  /** The consumer concerned. */
  consumer?: string | undefined;
}

/**
 * Names an operation and what it was about — `events.append on stream "order-1"` — for the messages of
 * errors that adapters map from driver errors. Never includes bound values.
 */
export function describeSubject(subject: ErrorSubject): string {
  if (subject.streamId !== undefined) return `${subject.operation} on stream ${JSON.stringify(subject.streamId)}`;
  if (subject.queue !== undefined) return `${subject.operation} on queue ${JSON.stringify(subject.queue)}`;
  if (subject.consumer !== undefined) return `${subject.operation} for consumer ${JSON.stringify(subject.consumer)}`;
  return subject.operation;
}
