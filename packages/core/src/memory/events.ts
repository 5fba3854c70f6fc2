import { ConcurrencyError } from '../errors.js';
import { expectedVersionMatches, resolveRetry } from '../events/append-rules.js';
import type { AppendResult, EventStore, StoredEvent, StreamInfo } from '../events/types.js';
import { cloneJson } from '../json.js';
import { validateAppend, validateReadAll, validateReadStream, validateStreamId } from '../validation.js';
import type { TablesAccess } from './access.js';
import type { EventRow, StreamRow, Tables } from './tables.js';
import { firstEventAfter, lastPosition } from './transfer.js';

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

/** The memory event store over some tables. */
export function memoryEvents(access: TablesAccess): EventStore {
  const pageSize = access.settings.readPageSize;
  return {
    async append(streamId, events, options) {
      access.read('events.append');
      const input = validateAppend(streamId, events, options, access.settings.maxPayloadBytes);
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
        // An import in progress may have stored the stream's row before all of its events.
        hi = Math.min(hi, stream.version, stream.events.length);
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
      let next = firstEventAfter(access.read('events.readAll'), o.after);
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
      return lastPosition(access.read('events.headPosition'));
    },
  };
}

function appendTo(t: Tables, input: ReturnType<typeof validateAppend>): AppendResult {
  const { streamId, events, expectedVersion } = input;
  const retried = resolveRetry(streamId, events, (id) => t.eventIds.get(id));
  if (retried !== undefined) return retried;

  const stream = t.streams.get(streamId);
  const actual = stream?.version ?? 0;
  if (!expectedVersionMatches(expectedVersion, actual)) throw ConcurrencyError.forStream(streamId, expectedVersion, actual);

  const now = Date.now();
  const shared = stream?.events ?? [];
  shared.length = actual; // drop leftovers of a rolled-back transaction
  let position = lastPosition(t);
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
