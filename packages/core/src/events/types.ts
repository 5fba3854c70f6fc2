import type { JsonCompatible, JsonValue } from '../json.js';

/**
 * Well-known metadata of an event. Any other key may hold a JSON value; `undefined` values are
 * rejected at append time because they do not survive storage.
 */
export interface EventMetadata {
  /** Identifies the whole flow a request started; filterable in `readAll`. */
  correlationId?: string;
  /** Id of the event or command that caused this one. */
  causationId?: string;
  /** Who caused the event. */
  userId?: string;
  [key: string]: JsonValue | undefined;
}

/**
 * An event to append. `TData` may be an interface or a type alias: {@link EventStore.append} checks that
 * it is {@link JsonCompatible}.
 */
export interface NewEvent<TType extends string = string, TData = JsonValue> {
  /** Event type, such as `OrderPlaced`: 1 to 255 characters, no U+0000. */
  type: TType;
  /** The payload: JSON ({@link JsonCompatible}). */
  data: TData;
  /** Correlation, causation, user and any other JSON fields. @defaultValue `{}` */
  metadata?: EventMetadata;
  /**
   * A UUID identifying the event; stored lowercase. Appending an event whose id is already stored at
   * the same place with the same content is an idempotent retry. Give ids yourself to retry safely: a
   * generated id is new on every call.
   * @defaultValue a new UUIDv7 (time-ordered: 48 bits of Unix milliseconds, then random bits), made by the append
   */
  id?: string;
  /** Version of the payload's shape, for upcasters. @defaultValue 1 */
  schemaVersion?: number;
}

/** An event as stored and read back. */
export interface StoredEvent<TType extends string = string, TData = JsonValue> {
  /** The event's UUID (lowercase). */
  id: string;
  /** The stream it belongs to. */
  streamId: string;
  /** Its version within the stream: 1 for the first event. */
  version: number;
  /** Its global position: strictly increasing in commit-visible order across the store. */
  position: bigint;
  /** Event type. */
  type: TType;
  /** The payload. */
  data: TData;
  /** Metadata (`{}` when none was given). */
  metadata: EventMetadata;
  /** Version of the payload's shape. */
  schemaVersion: number;
  /** When the event was stored, by the store's clock. */
  recordedAt: Date;
}

/**
 * What an append expects of the stream's current version:
 * - a number `n`: the stream is at version `n` exactly (`0`: it does not exist);
 * - `'any'`: no check;
 * - `'no_stream'`: the stream does not exist yet;
 * - `'stream_exists'`: the stream has at least one event.
 */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

/** Options of {@link EventStore.append}. */
export interface AppendOptions {
  /** Optimistic-concurrency check. @defaultValue `'any'` */
  expectedVersion?: ExpectedVersion;
}

/** What an append did. */
export interface AppendResult {
  /** The stream's version after the append: the version of its last event. */
  version: number;
  /** Global position of the first appended event. */
  firstPosition: bigint;
  /** Global position of the last appended event. */
  lastPosition: bigint;
}

/** Options of {@link EventStore.readStream}. */
export interface ReadStreamOptions {
  /** Lowest version to read (inclusive). @defaultValue 1 */
  fromVersion?: number;
  /** Highest version to read (inclusive). @defaultValue the stream's version */
  toVersion?: number;
  /**
   * Order of the events in the `[fromVersion, toVersion]` range; `limit` applies in this order, so
   * `{ direction: 'backward', limit: 1 }` reads the last event. @defaultValue `'forward'`
   */
  direction?: 'forward' | 'backward';
  /** Most events to return. @defaultValue no limit */
  limit?: number;
  /** Only events recorded at or before this instant (temporal query). */
  asOf?: Date;
}

/** Options of {@link EventStore.readAll}. */
export interface ReadAllOptions {
  /** Return events with a position greater than this one. @defaultValue `0n` (from the start) */
  after?: bigint;
  /** Only events of these types (a non-empty list). */
  types?: readonly string[];
  /** Only events of this stream. */
  streamId?: string;
  /** Only events whose stream id starts with this prefix (taken literally: `%` and `_` are plain characters). */
  streamPrefix?: string;
  /** Only events whose `metadata.correlationId` equals this. */
  correlationId?: string;
  /** Most events to return. @defaultValue no limit */
  limit?: number;
}

/** What {@link EventStore.streamInfo} reports. */
export interface StreamInfo {
  /** The stream id. */
  streamId: string;
  /** Current version (number of events appended). */
  version: number;
  /** Number of events stored in the stream. */
  eventCount: number;
  /** When the first event was appended. */
  createdAt: Date;
  /** When the last event was appended. */
  updatedAt: Date;
}

/**
 * The event store contract. Every method rejects with `CLOSED` after the store is closed, and with
 * `VALIDATION` (before anything is written) on bad input.
 */
export interface EventStore {
  /**
   * Appends events to a stream atomically: all of them or none. The events' data may be typed with
   * interfaces; the compiler rejects data that is not {@link JsonCompatible}.
   *
   * @typeParam TEvent - the events' type, inferred (a union when they differ)
   * @throws `CONCURRENCY` (`ConcurrencyError`) when `expectedVersion` does not hold
   * @throws `EVENT_ID_CONFLICT` when an event id is already stored elsewhere or with other content
   * @throws `VALIDATION` on bad input
   */
  append<TEvent extends NewEvent<string, JsonCompatible<TEvent['data']>>>(
    streamId: string,
    events: readonly TEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * Reads a stream's events, paging internally so that memory stays bounded whatever its length.
   * A stream that does not exist reads as empty. Invalid options reject on the first iteration.
   */
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<StoredEvent>;
  /**
   * Reads events of all streams in global position order, paging internally. Never skips an event:
   * it stops before any position whose writer might still commit a smaller one.
   */
  readAll(options?: ReadAllOptions): AsyncIterable<StoredEvent>;
  /** A stream's version, event count and timestamps, or `null` when it does not exist. */
  streamInfo(streamId: string): Promise<StreamInfo | null>;
  /**
   * The highest global position `readAll` can return right now (`0n` for an empty store). A
   * subscription `from: 'end'` starts here.
   */
  headPosition(): Promise<bigint>;
}

/** One member of a union of event shapes given to {@link StoredEventOf}. */
export interface EventShape {
  /** The event type. */
  type: string;
  /** The event's data. */
  data: unknown;
}

/**
 * The stored form of each member of a union of event shapes, for handlers typed with a discriminated
 * union: `StoredEventOf<{ type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderShipped'; data: { carrier: string } }>`
 * is a union of {@link StoredEvent}s that narrows on `type`.
 *
 * @example
 * ```ts
 * type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderShipped'; data: { carrier: string } }
 * subscribe(store, { handler: (e: StoredEventOf<OrderEvent>) => { if (e.type === 'OrderPlaced') console.log(e.data.total) } })
 * ```
 */
export type StoredEventOf<E extends EventShape> = E extends unknown ? StoredEvent<E['type'], E['data']> : never;
