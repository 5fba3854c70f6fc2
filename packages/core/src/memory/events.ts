import { ConcurrencyError, EventIdConflictError } from '../errors.js';
import type { AppendResult, EventStore, StoredEvent, StreamInfo } from '../events/types.js';
import { cloneJson, jsonEqual } from '../json.js';
import { validateAppend, validateReadAll, validateReadStream, validateStreamId } from '../validation.js';
import type { TablesAccess } from './access.js';
import type { EventRow, StreamRow, Tables } from './tables.js';

function toStored(row: EventRow): StoredEvent {
  return {
    id: row.id,
    streamId: row.streamId,
    version: row.version,
    position: row.position,
    type: row.type,
    data: cloneJson(row.data),
    metadata: cloneJson(row.metadata as Record<string, never>),
    schemaVersion: row.schemaVersion,
    recordedAt: new Date(row.recordedAt),
  };
}

function versionMatches(expected: number | string, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}

/** The memory event store over some tables. */
export function memoryEvents(access: TablesAccess): EventStore {
  const pageSize = access.settings.readPageSize;
  return {
    async append(streamId, events, options) {
      access.read('events.append');
      const input = validateAppend(streamId, events, options);
      return access.write('events.append', (t) => appendTo(t, input));
    },

    async *readStream(streamId, options) {
      access.read('events.readStream');
      const o = validateReadStream(streamId, options);
      const asOf = o.asOf?.getTime() ?? Number.POSITIVE_INFINITY;
      let remaining = o.limit;
      let lo = o.fromVersion;
      let hi = o.toVersion;
      while (remaining > 0 && lo <= hi) {
        const stream = access.read('events.readStream').streams.get(o.streamId);
        if (stream === undefined) return;
        hi = Math.min(hi, stream.version);
        if (lo > hi) return;
        const n = Math.min(pageSize, remaining, hi - lo + 1);
        const page: StoredEvent[] = [];
        if (o.direction === 'forward') {
          for (let v = lo; v < lo + n; v++) page.push(toStored(stream.events[v - 1] as EventRow));
          lo += n;
        } else {
          for (let v = hi; v > hi - n; v--) page.push(toStored(stream.events[v - 1] as EventRow));
          hi -= n;
        }
        for (const e of page) {
          if (e.recordedAt.getTime() > asOf) {
            // Versions rise with time: past asOf going forward nothing else qualifies.
            if (o.direction === 'forward') return;
            continue;
          }
          yield e;
          remaining--;
        }
      }
    },

    async *readAll(options) {
      access.read('events.readAll');
      const o = validateReadAll(options);
      const types = o.types === undefined ? undefined : new Set(o.types);
      let remaining = o.limit;
      let next = Number(o.after); // index of the first candidate = position after − 1 + 1
      while (remaining > 0) {
        const t = access.read('events.readAll');
        const end = Math.min(t.eventCount, next + pageSize);
        if (next >= end) return;
        const page: StoredEvent[] = [];
        for (let i = next; i < end && page.length < remaining; i++) {
          const row = t.eventAt(i) as EventRow;
          if (types !== undefined && !types.has(row.type)) continue;
          if (o.streamId !== undefined && row.streamId !== o.streamId) continue;
          if (o.streamPrefix !== undefined && !row.streamId.startsWith(o.streamPrefix)) continue;
          if (o.correlationId !== undefined && row.metadata.correlationId !== o.correlationId) continue;
          page.push(toStored(row));
        }
        next = end;
        for (const e of page) {
          yield e;
          remaining--;
        }
      }
    },

    async streamInfo(streamId) {
      const t = access.read('events.streamInfo');
      const id = validateStreamId(streamId);
      const s = t.streams.get(id);
      if (s === undefined) return null;
      const info: StreamInfo = {
        streamId: id,
        version: s.version,
        eventCount: s.version,
        createdAt: new Date(s.createdAt),
        updatedAt: new Date(s.updatedAt),
      };
      return info;
    },

    async headPosition() {
      return BigInt(access.read('events.headPosition').eventCount);
    },
  };
}

function appendTo(t: Tables, input: ReturnType<typeof validateAppend>): AppendResult {
  const { streamId, events, expectedVersion } = input;
  const retried = idempotentResult(t, streamId, events);
  if (retried !== undefined) return retried;

  const stream = t.streams.get(streamId);
  const actual = stream?.version ?? 0;
  if (!versionMatches(expectedVersion, actual)) throw ConcurrencyError.forStream(streamId, expectedVersion, actual);

  const now = Date.now();
  const shared = stream?.events ?? [];
  shared.length = actual; // drop leftovers of a rolled-back transaction
  let position = BigInt(t.eventCount);
  const firstPosition = position + 1n;
  let version = actual;
  for (const e of events) {
    version++;
    position++;
    const row: EventRow = {
      id: e.id,
      streamId,
      version,
      position,
      type: e.type,
      data: cloneJson(e.data),
      metadata: cloneJson(e.metadata as Record<string, never>),
      schemaVersion: e.schemaVersion,
      recordedAt: now,
    };
    shared.push(row);
    t.pushEvent(row);
    t.eventIds.set(row.id, row);
  }
  const updated: StreamRow = { version, createdAt: stream?.createdAt ?? now, updatedAt: now, events: shared };
  t.streams.set(streamId, updated);
  const last = events[events.length - 1];
  t.notices.push({ kind: 'events', streamId, type: last?.type ?? '', position });
  return { version, firstPosition, lastPosition: position };
}

/** The original result when every event is already stored exactly here; `undefined` when none is. */
function idempotentResult(
  t: Tables,
  streamId: string,
  events: ReturnType<typeof validateAppend>['events'],
): AppendResult | undefined {
  let first: EventRow | undefined;
  let last: EventRow | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const row = t.eventIds.get(e.id);
    if (row === undefined) {
      if (i === 0) {
        // Fast path: only look further when the first id is unknown if some later id is known.
        if (events.every((x) => !t.eventIds.has(x.id))) return undefined;
      }
      throw new EventIdConflictError(streamId, e.id, 'belongs to a retried batch that is only partly stored');
    }
    if (row.streamId !== streamId) throw new EventIdConflictError(streamId, e.id, 'is already stored in another stream');
    if (first !== undefined && row.version !== first.version + i) {
      throw new EventIdConflictError(streamId, e.id, 'is already stored at another version');
    }
    if (
      row.type !== e.type ||
      row.schemaVersion !== e.schemaVersion ||
      !jsonEqual(row.data, e.data) ||
      !jsonEqual(row.metadata as Record<string, never>, e.metadata as Record<string, never>)
    ) {
      throw new EventIdConflictError(streamId, e.id, 'is already stored with other content');
    }
    first ??= row;
    last = row;
  }
  if (first === undefined || last === undefined) return undefined;
  return { version: last.version, firstPosition: first.position, lastPosition: last.position };
}
