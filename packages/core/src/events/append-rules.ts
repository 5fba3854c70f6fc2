import { EventIdConflictError } from '../errors.js';
import { type JsonValue, jsonEqual } from '../json.js';
import type { ValidatedEvent } from '../validation.js';
import type { AppendResult, EventMetadata, ExpectedVersion } from './types.js';

/** What an adapter knows of an event already stored under an id, for {@link resolveRetry}. */
export interface StoredEventRef {
  /** Its stream. */
  streamId: string;
  /** Its version in the stream. */
  version: number;
  /** Its global position. */
  position: bigint;
  /** Its type. */
  type: string;
  /** Its schema version. */
  schemaVersion: number;
  /** Its payload. */
  data: JsonValue;
  /** Its metadata. */
  metadata: EventMetadata;
}

/**
 * Decides an append whose event ids may already be stored: `undefined` when none is (append normally),
 * the original result when all are, in this stream, at consecutive versions, with the same content
 * (key order aside) — an idempotent retry — and an {@link EventIdConflictError} otherwise.
 *
 * @param streamId - the stream appended to
 * @param events - the validated events of the append
 * @param lookup - the stored event with a given id, if any
 * @throws `EVENT_ID_CONFLICT` when the ids clash with what is stored
 */
export function resolveRetry(
  streamId: string,
  events: readonly ValidatedEvent[],
  lookup: (eventId: string) => StoredEventRef | undefined,
): AppendResult | undefined {
  const found = events.map((e) => lookup(e.id));
  const known = found.filter((f) => f !== undefined).length;
  if (known === 0) return undefined;
  const first = found[0];
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as ValidatedEvent;
    const row = found[i];
    if (row === undefined || first === undefined) {
      throw new EventIdConflictError(streamId, e.id, 'belongs to a retried batch that is only partly stored');
    }
    if (row.streamId !== streamId) throw new EventIdConflictError(streamId, e.id, 'is already stored in another stream');
    if (row.version !== first.version + i) throw new EventIdConflictError(streamId, e.id, 'is already stored at another version');
    if (
      row.type !== e.type ||
      row.schemaVersion !== e.schemaVersion ||
      !jsonEqual(row.data, e.data) ||
      !jsonEqual(row.metadata as JsonValue, e.metadata as JsonValue)
    ) {
      throw new EventIdConflictError(streamId, e.id, 'is already stored with other content');
    }
  }
  const last = found[found.length - 1] as StoredEventRef;
  return { version: last.version, firstPosition: (first as StoredEventRef).position, lastPosition: last.position };
}

/**
 * Whether a stream at version `actual` (0 when it does not exist) satisfies the expectation of an
 * append.
 */
export function expectedVersionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}
