/**
 * The argument checks every adapter runs before touching its database, so that the same bad input
 * gets the same `VALIDATION` error on every adapter. Each function returns the normalized value
 * (defaults filled in, ids lowercased) or throws a {@link ValidationError} naming the field.
 *
 * @module
 */
import { ValidationError } from './errors.js';
import type { AppendOptions, EventMetadata, ExpectedVersion, NewEvent, ReadAllOptions, ReadStreamOptions } from './events/types.js';
import { assertJson, assertPayloadSize, DEFAULT_MAX_PAYLOAD_BYTES, type JsonValue, MAX_PAYLOAD_BYTES, PayloadBudget } from './json.js';
import type { MessageHeaders, NackOptions, OutgoingMessage, ReceiveOptions, SendOptions } from './queue/types.js';
import type { SnapshotInput } from './snapshots/types.js';
import type { LeaseOptions, SetCheckpointOptions } from './subscriptions/types.js';

/**
 * Most events one append may hold: PostgreSQL positions leave room for 2^20 events per transaction,
 * and the limit applies on every adapter so that the same input gets the same answer everywhere.
 */
export const MAX_EVENTS_PER_APPEND = 1_048_576;

/** Longest stream id, event type, queue name, consumer name or dedup id, in Unicode code points. */
export const MAX_NAME_LENGTH = 255;
/** Most messages one `receive` may return. */
export const MAX_RECEIVE = 1000;
/** Longest visibility timeout: 12 hours, as in Amazon SQS. */
export const MAX_VISIBILITY_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** Longest send or nack delay: 30 days. */
export const MAX_DELAY_MS = 30 * 24 * 60 * 60 * 1000;
/** Longest lease: 1 hour. */
export const MAX_LEASE_MS = 60 * 60 * 1000;
/** Largest message priority or schema version (PostgreSQL `integer`). */
export const MAX_INT32 = 2_147_483_647;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID in its canonical 8-4-4-4-12 hex form (any case). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The reasons a store records when it dead-letters a message without one given by the caller. */
export const DEAD_LETTER_REASONS = Object.freeze({
  /** Received again after the visibility timeout of its last allowed delivery passed. */
  attemptsExhausted: 'visibility timeout expired on the last allowed attempt',
  /** `nack` with `deadLetter: true` and no reason. */
  nackedToDeadLetter: 'dead-lettered by nack',
  /** `nack` on the last allowed delivery, with no reason. */
  nackedOnLastAttempt: 'nacked on the last allowed attempt',
});

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `of type ${typeof value}`;
}

/**
 * Checks a name-like string: stream id, event type, queue, consumer, dedup id. Non-empty, at most
 * {@link MAX_NAME_LENGTH} code points, no U+0000, no lone surrogate.
 *
 * @param value - the value given
 * @param field - the argument's name for the message
 * @throws {@link ValidationError}
 */
export function validateName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, `must be a string, got a value ${describe(value)}`);
  if (value.length === 0) throw new ValidationError(field, 'must not be empty');
  if (value.length > MAX_NAME_LENGTH && [...value].length > MAX_NAME_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_NAME_LENGTH} characters`);
  }
  if (value.includes('\u0000')) throw new ValidationError(field, 'must not contain U+0000');
  if (!value.isWellFormed()) throw new ValidationError(field, 'must not contain a lone UTF-16 surrogate');
  return value;
}

/** Checks a stream id. @throws {@link ValidationError} */
export function validateStreamId(value: unknown, field = 'streamId'): string {
  return validateName(value, field);
}

/** Checks a queue name. @throws {@link ValidationError} */
export function validateQueueName(value: unknown, field = 'queue'): string {
  return validateName(value, field);
}

/** Checks a consumer name. @throws {@link ValidationError} */
export function validateConsumerName(value: unknown, field = 'consumer'): string {
  return validateName(value, field);
}

function validateOptionsObject(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, `must be an object, got a value ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Checks an integer within bounds.
 *
 * @param value - the value given
 * @param field - the argument's name
 * @param min - smallest allowed
 * @param max - largest allowed
 * @throws {@link ValidationError}
 */
export function validateInteger(value: unknown, field: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValidationError(field, `must be an integer, got ${typeof value === 'number' ? String(value) : `a value ${describe(value)}`}`);
  }
  if (value < min || value > max) throw new ValidationError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Checks an optional positive limit. @throws {@link ValidationError} */
export function validateLimit(value: unknown, field = 'limit', max: number = Number.MAX_SAFE_INTEGER): number | undefined {
  return value === undefined ? undefined : validateInteger(value, field, 1, max);
}

/**
 * Checks a global position: a `bigint` (or a safe integer number) that is not negative.
 *
 * @throws {@link ValidationError}
 */
export function validatePosition(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new ValidationError(field, `must not be negative, got ${value}`);
    if (value > 9_223_372_036_854_775_807n) throw new ValidationError(field, 'must fit in a signed 64-bit integer');
    return value;
  }
  if (typeof value === 'number') return BigInt(validateInteger(value, field, 0));
  throw new ValidationError(field, `must be a bigint, got a value ${describe(value)}`);
}

/** Checks an expected version; `undefined` becomes `'any'`. @throws {@link ValidationError} */
export function validateExpectedVersion(value: unknown, field = 'expectedVersion'): ExpectedVersion {
  if (value === undefined) return 'any';
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'number') return validateInteger(value, field, 0);
  throw new ValidationError(field, "must be a non-negative integer, 'any', 'no_stream' or 'stream_exists'");
}

/** An event after validation: every field present, id lowercased. */
export interface ValidatedEvent {
  /** Lowercase UUID. */
  id: string;
  /** Event type. */
  type: string;
  /** Payload. */
  data: JsonValue;
  /** Metadata, `{}` when none was given. */
  metadata: EventMetadata;
  /** Schema version, 1 when none was given. */
  schemaVersion: number;
}

/** A validated append. */
export interface ValidatedAppend {
  /** The stream. */
  streamId: string;
  /** The events, in order. */
  events: ValidatedEvent[];
  /** The expectation, `'any'` when none was given. */
  expectedVersion: ExpectedVersion;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
let pool = new Uint8Array(0);
let offset = 0;

/**
 * A new UUID (version 7, lowercase): 48 bits of Unix milliseconds, then random bits. Ids made close in
 * time sort close together, so a database index on them grows at its right edge instead of touching a
 * random page per insert (several times fewer pages written per append).
 */
export function randomId(): string {
  if (offset + 10 > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(4096));
    offset = 0;
  }
  const r = pool;
  const o = offset;
  offset += 10;
  const ms = Date.now();
  const hi = Math.floor(ms / 0x1_0000_0000);
  const lo = ms >>> 0;
  return (
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[lo >>> 24]! +
    HEX[(lo >>> 16) & 0xff]! +
    '-' +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    '-' +
    HEX[0x70 | (r[o]! & 0x0f)]! +
    HEX[r[o + 1]!]! +
    '-' +
    HEX[0x80 | (r[o + 2]! & 0x3f)]! +
    HEX[r[o + 3]!]! +
    '-' +
    HEX[r[o + 4]!]! +
    HEX[r[o + 5]!]! +
    HEX[r[o + 6]!]! +
    HEX[r[o + 7]!]! +
    HEX[r[o + 8]!]! +
    HEX[r[o + 9]!]!
  );
}

/**
 * Checks a store's `maxPayloadBytes` option: an integer from 1 to {@link MAX_PAYLOAD_BYTES}.
 *
 * @param value - the option given, `undefined` for the default
 * @param field - the option's name for the message
 * @defaultValue value: {@link DEFAULT_MAX_PAYLOAD_BYTES}
 * @throws {@link ValidationError}
 */
export function validateMaxPayloadBytes(value: unknown, field = 'options.maxPayloadBytes'): number {
  return value === undefined ? DEFAULT_MAX_PAYLOAD_BYTES : validateInteger(value, field, 1, MAX_PAYLOAD_BYTES);
}

/**
 * Checks an append's arguments: stream id, a non-empty list of events with valid types, JSON data
 * and metadata, UUID ids unique within the call, schema versions and the expected version, and that
 * no event's data and metadata together exceed `maxPayloadBytes` of JSON.
 *
 * @param maxPayloadBytes - the store's limit per event
 * @defaultValue maxPayloadBytes: {@link DEFAULT_MAX_PAYLOAD_BYTES}
 * @throws {@link ValidationError}
 */
export function validateAppend(streamId: unknown, events: unknown, options: unknown, maxPayloadBytes: number = DEFAULT_MAX_PAYLOAD_BYTES): ValidatedAppend {
  const id = validateStreamId(streamId);
  if (!Array.isArray(events)) throw new ValidationError('events', `must be an array, got a value ${describe(events)}`);
  if (events.length === 0) throw new ValidationError('events', 'must not be empty');
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new ValidationError('events', `holds ${events.length} events; one append may hold at most ${MAX_EVENTS_PER_APPEND}`);
  }
  const opts = validateOptionsObject(options, 'options') as AppendOptions;
  const budget = new PayloadBudget('events');
  const expectedVersion = validateExpectedVersion(opts.expectedVersion, 'options.expectedVersion');
  const seen = new Set<string>();
  const out: ValidatedEvent[] = new Array<ValidatedEvent>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = validateOptionsObject(events[i] ?? null, `events[${i}]`) as Partial<NewEvent> & Record<string, unknown>;
    const type = validateName(e.type, `events[${i}].type`);
    if (!('data' in e)) throw new ValidationError(`events[${i}].data`, 'is missing');
    const item = new PayloadBudget(`events[${i}]`, maxPayloadBytes, budget);
    assertJson(e.data, `events[${i}].data`, item);
    let metadata: EventMetadata = {};
    if (e.metadata !== undefined) {
      metadata = validateOptionsObject(e.metadata, `events[${i}].metadata`) as EventMetadata;
      assertJson(metadata, `events[${i}].metadata`, item);
      for (const key of ['correlationId', 'causationId', 'userId'] as const) {
        const v = metadata[key];
        if (v !== undefined && typeof v !== 'string') {
          throw new ValidationError(`events[${i}].metadata.${key}`, `must be a string, got a value ${describe(v)}`);
        }
      }
    }
    let eventId: string;
    if (e.id === undefined) eventId = randomId();
    else {
      if (typeof e.id !== 'string' || !UUID.test(e.id)) throw new ValidationError(`events[${i}].id`, 'must be a UUID');
      eventId = e.id.toLowerCase();
    }
    if (seen.has(eventId)) throw new ValidationError(`events[${i}].id`, 'repeats an id given earlier in the same append');
    seen.add(eventId);
    const schemaVersion = e.schemaVersion === undefined ? 1 : validateInteger(e.schemaVersion, `events[${i}].schemaVersion`, 1, MAX_INT32);
    assertPayloadSize([e.data, e.metadata === undefined ? undefined : (metadata as JsonValue)], `events[${i}]`, 'data and metadata', maxPayloadBytes, item);
    out[i] = { id: eventId, type, data: e.data, metadata, schemaVersion };
  }
  return { streamId: id, events: out, expectedVersion };
}

/** Read-stream options after validation. */
export interface ValidatedReadStream {
  /** The stream. */
  streamId: string;
  /** Lowest version, at least 1. */
  fromVersion: number;
  /** Highest version, `Number.MAX_SAFE_INTEGER` when open. */
  toVersion: number;
  /** Order. */
  direction: 'forward' | 'backward';
  /** Most events, `Infinity` when open. */
  limit: number;
  /** Upper bound on `recordedAt`, if any. */
  asOf: Date | undefined;
}

function validateDate(value: unknown, field: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new ValidationError(field, 'must be a valid Date');
  return value;
}

/** Checks `readStream` arguments. @throws {@link ValidationError} */
export function validateReadStream(streamId: unknown, options: unknown): ValidatedReadStream {
  const id = validateStreamId(streamId);
  const o = validateOptionsObject(options, 'options') as ReadStreamOptions;
  const fromVersion = o.fromVersion === undefined ? 1 : Math.max(1, validateInteger(o.fromVersion, 'options.fromVersion', 0));
  const toVersion = o.toVersion === undefined ? Number.MAX_SAFE_INTEGER : validateInteger(o.toVersion, 'options.toVersion', 0);
  const direction = o.direction ?? 'forward';
  if (direction !== 'forward' && direction !== 'backward') {
    throw new ValidationError('options.direction', "must be 'forward' or 'backward'");
  }
  const limit = validateLimit(o.limit, 'options.limit') ?? Number.POSITIVE_INFINITY;
  const asOf = validateDate(o.asOf, 'options.asOf');
  return { streamId: id, fromVersion, toVersion, direction, limit, asOf };
}

/** Read-all options after validation. */
export interface ValidatedReadAll {
  /** Exclusive lower bound on position. */
  after: bigint;
  /** Type filter, if any (non-empty). */
  types: string[] | undefined;
  /** Exact stream filter, if any. */
  streamId: string | undefined;
  /** Literal stream-id prefix filter, if any. */
  streamPrefix: string | undefined;
  /** Correlation id filter, if any. */
  correlationId: string | undefined;
  /** Most events, `Infinity` when open. */
  limit: number;
}

/** Checks `readAll` options. @throws {@link ValidationError} */
export function validateReadAll(options: unknown): ValidatedReadAll {
  const o = validateOptionsObject(options, 'options') as ReadAllOptions;
  const after = o.after === undefined ? 0n : validatePosition(o.after, 'options.after');
  let types: string[] | undefined;
  if (o.types !== undefined) {
    if (!Array.isArray(o.types)) throw new ValidationError('options.types', 'must be an array of event types');
    if (o.types.length === 0) throw new ValidationError('options.types', 'must not be empty (omit it to read every type)');
    types = o.types.map((t, i) => validateName(t, `options.types[${i}]`));
  }
  const streamId = o.streamId === undefined ? undefined : validateStreamId(o.streamId, 'options.streamId');
  const streamPrefix = o.streamPrefix === undefined ? undefined : validateName(o.streamPrefix, 'options.streamPrefix');
  const correlationId = o.correlationId === undefined ? undefined : validateCorrelationId(o.correlationId);
  const limit = validateLimit(o.limit, 'options.limit') ?? Number.POSITIVE_INFINITY;
  return { after, types, streamId, streamPrefix, correlationId, limit };
}

function validateCorrelationId(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('options.correlationId', `must be a string, got a value ${describe(value)}`);
  if (value.includes('\u0000') || !value.isWellFormed()) {
    throw new ValidationError('options.correlationId', 'must not contain U+0000 or a lone surrogate');
  }
  return value;
}

/** A message after validation, ready to store. */
export interface ValidatedMessage {
  /** A fresh message id (UUID). */
  id: string;
  /** Payload. */
  body: JsonValue;
  /** Headers, `{}` when none. */
  headers: MessageHeaders;
  /** Delay before first visibility. */
  delayMs: number;
  /** Priority. */
  priority: number;
  /** Dead-letter threshold. */
  maxAttempts: number;
  /** Deduplication key, if any. */
  dedupId: string | undefined;
}

function validateHeaders(value: unknown, field: string): MessageHeaders {
  if (value === undefined) return {};
  const h = validateOptionsObject(value, field);
  if (Object.getPrototypeOf(h) !== Object.prototype && Object.getPrototypeOf(h) !== null) {
    throw new ValidationError(field, 'must be a plain object of strings');
  }
  const out: MessageHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    validateName(k, `${field} key`);
    if (typeof v !== 'string') throw new ValidationError(`${field}.${k}`, `must be a string, got a value ${describe(v)}`);
    if (v.includes('\u0000') || !v.isWellFormed()) {
      throw new ValidationError(`${field}.${k}`, 'must not contain U+0000 or a lone surrogate');
    }
    out[k] = v;
  }
  return out;
}

function validateSendSettings(o: SendOptions, field: string, defaults: Required<SendOptions>): Required<SendOptions> {
  return {
    delayMs: o.delayMs === undefined ? defaults.delayMs : validateInteger(o.delayMs, `${field}.delayMs`, 0, MAX_DELAY_MS),
    priority: o.priority === undefined ? defaults.priority : validateInteger(o.priority, `${field}.priority`, -MAX_INT32, MAX_INT32),
    maxAttempts: o.maxAttempts === undefined ? defaults.maxAttempts : validateInteger(o.maxAttempts, `${field}.maxAttempts`, 1, 1000),
  };
}

/**
 * Checks a `send`: queue name, one message or a non-empty list, JSON bodies, string headers, dedup
 * ids, delays, priorities and attempt limits (per message, falling back to the call's options, then
 * to `defaultMaxAttempts`), and that no message's body and headers together exceed `maxPayloadBytes`
 * of JSON.
 *
 * @param maxPayloadBytes - the store's limit per message
 * @defaultValue maxPayloadBytes: {@link DEFAULT_MAX_PAYLOAD_BYTES}
 * @throws {@link ValidationError}
 */
export function validateSend(
  queue: unknown,
  messages: unknown,
  options: unknown,
  defaultMaxAttempts: number,
  maxPayloadBytes: number = DEFAULT_MAX_PAYLOAD_BYTES,
): ValidatedSend {
  const name = validateQueueName(queue);
  const list = Array.isArray(messages) ? (messages as unknown[]) : [messages];
  if (list.length === 0) throw new ValidationError('messages', 'must not be empty');
  const callDefaults = validateSendSettings(validateOptionsObject(options, 'options'), 'options', {
    delayMs: 0,
    priority: 0,
    maxAttempts: defaultMaxAttempts,
  });
  const single = !Array.isArray(messages);
  const budget = new PayloadBudget(single ? 'message' : 'messages');
  const out = list.map((raw, i): ValidatedMessage => {
    const field = single ? 'message' : `messages[${i}]`;
    const m = validateOptionsObject(raw ?? null, field) as Partial<OutgoingMessage> & Record<string, unknown>;
    if (!('body' in m)) throw new ValidationError(`${field}.body`, 'is missing');
    const item = new PayloadBudget(field, maxPayloadBytes, budget);
    assertJson(m.body, `${field}.body`, item);
    const settings = validateSendSettings(m, field, callDefaults);
    const headers = validateHeaders(m.headers, `${field}.headers`);
    if (m.headers !== undefined) {
      item.values++;
      for (const [k, v] of Object.entries(headers)) {
        item.spend(k.length + v.length);
        item.values++;
      }
    }
    assertPayloadSize([m.body, m.headers === undefined ? undefined : headers], field, 'body and headers', maxPayloadBytes, item);
    return {
      id: randomId(),
      body: m.body,
      headers,
      dedupId: m.dedupId === undefined ? undefined : validateName(m.dedupId, `${field}.dedupId`),
      ...settings,
    };
  });
  return { queue: name, messages: out };
}

/** Checks `receive` arguments. @throws {@link ValidationError} */
export function validateReceive(queue: unknown, options: unknown): ValidatedReceive {
  const name = validateQueueName(queue);
  const o = validateOptionsObject(options, 'options') as ReceiveOptions;
  return {
    queue: name,
    max: o.max === undefined ? 1 : validateInteger(o.max, 'options.max', 1, MAX_RECEIVE),
    visibilityTimeoutMs:
      o.visibilityTimeoutMs === undefined ? 30_000 : validateInteger(o.visibilityTimeoutMs, 'options.visibilityTimeoutMs', 1, MAX_VISIBILITY_TIMEOUT_MS),
  };
}

/** Checks the receipts given to `ackMany`: an array (possibly empty) of receipts. @throws {@link ValidationError} */
export function validateReceipts(value: unknown): string[] {
  if (!Array.isArray(value)) throw new ValidationError('receipts', 'must be an array of receipts');
  if (value.length > 10_000) throw new ValidationError('receipts', 'must hold at most 10000 receipts');
  return value.map((r, i) => validateName(r, `receipts[${i}]`));
}

/**
 * Checks a delivery receipt: a UUID, as every `receive()` issues. A string of another shape is bad input
 * (`VALIDATION`); a well-formed receipt that no longer owns its message is for the adapter to reject
 * with `STALE_RECEIPT`.
 *
 * @throws {@link ValidationError}
 */
export function validateReceipt(value: unknown, field = 'receipt'): string {
  const receipt = validateName(value, field);
  if (!UUID.test(receipt)) throw new ValidationError(field, 'is not a receipt: receipts are the UUIDs that queue.receive() returns in each delivery');
  return receipt;
}

/** Checks `nack` options. @throws {@link ValidationError} */
export function validateNack(options: unknown): ValidatedNack {
  const o = validateOptionsObject(options, 'options') as NackOptions;
  if (o.deadLetter !== undefined && typeof o.deadLetter !== 'boolean') {
    throw new ValidationError('options.deadLetter', 'must be a boolean');
  }
  let reason: string | null = null;
  if (o.reason !== undefined) {
    if (typeof o.reason !== 'string') throw new ValidationError('options.reason', `must be a string, got a value ${describe(o.reason)}`);
    if (o.reason.includes('\u0000') || !o.reason.isWellFormed()) {
      throw new ValidationError('options.reason', 'must not contain U+0000 or a lone surrogate');
    }
    reason = o.reason.length > 4000 ? o.reason.slice(0, 4000) : o.reason;
  }
  return {
    delayMs: o.delayMs === undefined ? 0 : validateInteger(o.delayMs, 'options.delayMs', 0, MAX_DELAY_MS),
    deadLetter: o.deadLetter ?? false,
    reason,
  };
}

/** Checks an `extendVisibility` duration. @throws {@link ValidationError} */
export function validateVisibilityExtension(ms: unknown): number {
  return validateInteger(ms, 'ms', 0, MAX_VISIBILITY_TIMEOUT_MS);
}

/** Checks message ids given to `redrive`. @throws {@link ValidationError} */
export function validateMessageIds(ids: unknown): string[] | undefined {
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids)) throw new ValidationError('ids', 'must be an array of message ids');
  return ids.map((id, i) => validateName(id, `ids[${i}]`));
}

/**
 * Checks a snapshot to save, and that its state is at most `maxPayloadBytes` of JSON.
 *
 * @param maxPayloadBytes - the store's limit per snapshot
 * @defaultValue maxPayloadBytes: {@link DEFAULT_MAX_PAYLOAD_BYTES}
 * @throws {@link ValidationError}
 */
export function validateSnapshot(streamId: unknown, snapshot: unknown, maxPayloadBytes: number = DEFAULT_MAX_PAYLOAD_BYTES): ValidatedSnapshot {
  const id = validateStreamId(streamId);
  const s = validateOptionsObject(snapshot ?? null, 'snapshot') as Partial<SnapshotInput> & Record<string, unknown>;
  const version = validateInteger(s.version, 'snapshot.version', 1);
  if (!('state' in s)) throw new ValidationError('snapshot.state', 'is missing');
  const budget = new PayloadBudget('snapshot.state', maxPayloadBytes, new PayloadBudget('snapshot.state'));
  assertJson(s.state, 'snapshot.state', budget);
  assertPayloadSize([s.state], 'snapshot.state', 'state', maxPayloadBytes, budget);
  const schemaVersion = s.schemaVersion === undefined ? 1 : validateInteger(s.schemaVersion, 'snapshot.schemaVersion', 1, MAX_INT32);
  return { streamId: id, version, state: s.state, schemaVersion };
}

/** Checks `snapshots.load` arguments. @throws {@link ValidationError} */
export function validateSnapshotLoad(streamId: unknown, options: unknown): ValidatedSnapshotLoad {
  const id = validateStreamId(streamId);
  const o = validateOptionsObject(options, 'options') as { maxVersion?: unknown };
  const maxVersion = o.maxVersion === undefined ? Number.MAX_SAFE_INTEGER : validateInteger(o.maxVersion, 'options.maxVersion', 0);
  return { streamId: id, maxVersion };
}

/** Checks `checkpoints.set` arguments. @throws {@link ValidationError} */
export function validateCheckpointSet(consumer: unknown, position: unknown, options: unknown): ValidatedCheckpointSet {
  const name = validateConsumerName(consumer);
  const pos = validatePosition(position, 'position');
  const o = validateOptionsObject(options, 'options') as SetCheckpointOptions;
  let expected: bigint | null | undefined;
  if (o.expected === null || o.expected === undefined) expected = o.expected;
  else expected = validatePosition(o.expected, 'options.expected');
  return { consumer: name, position: pos, expected };
}

/** Checks `checkpoints.acquireLease` arguments. @throws {@link ValidationError} */
export function validateLease(consumer: unknown, options: unknown): ValidatedLease {
  const name = validateConsumerName(consumer);
  const o = validateOptionsObject(options ?? null, 'options') as Partial<LeaseOptions>;
  return {
    consumer: name,
    owner: validateName(o.owner, 'options.owner'),
    ttlMs: validateInteger(o.ttlMs, 'options.ttlMs', 1, MAX_LEASE_MS),
  };
}

/** A validated `send`. */
export interface ValidatedSend {
  /** The queue. */
  queue: string;
  /** The messages, in order. */
  messages: ValidatedMessage[];
}

/** A validated `receive`. */
export interface ValidatedReceive {
  /** The queue. */
  queue: string;
  /** Most messages to receive. */
  max: number;
  /** Visibility timeout of the deliveries. */
  visibilityTimeoutMs: number;
}

/** Validated `nack` options. */
export interface ValidatedNack {
  /** Delay before redelivery. */
  delayMs: number;
  /** Dead-letter at once. */
  deadLetter: boolean;
  /** Reason, at most 4000 characters, or `null`. */
  reason: string | null;
}

/** A validated snapshot. */
export interface ValidatedSnapshot {
  /** The stream. */
  streamId: string;
  /** Stream version of the state. */
  version: number;
  /** The state. */
  state: JsonValue;
  /** Shape version of the state. */
  schemaVersion: number;
}

/** Validated `snapshots.load` arguments. */
export interface ValidatedSnapshotLoad {
  /** The stream. */
  streamId: string;
  /** Highest version wanted, `Number.MAX_SAFE_INTEGER` when open. */
  maxVersion: number;
}

/** Validated `checkpoints.set` arguments. */
export interface ValidatedCheckpointSet {
  /** The consumer. */
  consumer: string;
  /** The new position. */
  position: bigint;
  /** The compare-and-set expectation: a position, `null` (must not exist) or `undefined` (none). */
  expected: bigint | null | undefined;
}

/** Validated `checkpoints.acquireLease` arguments. */
export interface ValidatedLease {
  /** The consumer. */
  consumer: string;
  /** Who asks. */
  owner: string;
  /** Lease duration. */
  ttlMs: number;
}
