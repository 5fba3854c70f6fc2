import {
  type AppendResult,
  ConcurrencyError,
  EventIdConflictError,
  type EventMetadata,
  type EventStore,
  type ExpectedVersion,
  type JsonValue,
  type StoredEvent,
  validateAppend,
  validateReadAll,
  validateReadStream,
  validateStreamId,
} from '@strata/core';
import { type SQL, sql } from 'drizzle-orm';
import { epochMs, epochMsText, type PgContext } from './context.js';
import { assertFitsJsonb } from './limits.js';

interface EventRow {
  p: string;
  s: string;
  v: number | string;
  id: string;
  type: string;
  sv: number;
  data: JsonValue;
  metadata: EventMetadata;
  at: number;
}

const COLUMNS = sql.raw(
  `position::text as p, stream_id as s, version as v, event_id::text as id, type, schema_version as sv, data, metadata, ${epochMsText('recorded_at')} as at`,
);

/** Rows a reader may return: those of transactions that can no longer change, and its own. */
const SAFE = sql.raw(`(transaction_id < pg_snapshot_xmin(pg_current_snapshot()) or transaction_id = pg_current_xact_id_if_assigned())`);

/** A PostgreSQL text array literal of `values` (validated names: no U+0000; any text without it). */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

function toEvent(r: EventRow): StoredEvent {
  return {
    id: r.id,
    streamId: r.s,
    version: Number(r.v),
    position: BigInt(r.p),
    type: r.type,
    data: r.data,
    metadata: r.metadata,
    schemaVersion: r.sv,
    recordedAt: new Date(r.at),
  };
}

function expectation(expected: ExpectedVersion): [kind: number, version: number] {
  if (expected === 'any') return [0, 0];
  if (expected === 'no_stream') return [1, 0];
  if (expected === 'stream_exists') return [2, 0];
  return [3, expected];
}

const CONFLICT_REASONS: Record<number, string> = {
  3: 'belongs to a retried batch that is only partly stored',
  4: 'is already stored in another stream',
  5: 'is already stored at another version',
  6: 'is already stored with other content',
};

/** The PostgreSQL event store. */
export function pgEvents(ctx: PgContext): EventStore {
  const { names } = ctx;
  const pageSize = ctx.settings.readPageSize;

  return {
    async append(streamId, events, options) {
      ctx.check('events.append');
      const input = validateAppend(streamId, events, options, ctx.settings.maxPayloadBytes);
      const [kind, expected] = expectation(input.expectedVersion);
      const checkIds = events.some((e) => e.id !== undefined);
      const rows = input.events.map((e) => ({ id: e.id, type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata }));
      const payload = JSON.stringify(rows);
      // The batch travels as one jsonb array.
      assertFitsJsonb(payload, () => rows as unknown as JsonValue, 'events');
      const lastType = input.events[input.events.length - 1]?.type ?? '';
      // LISTEN/NOTIFY: the mark, set before the stream row is written (a one-time filter), lets the
      // transaction's first append queue the commit trigger; the note, set after, is what it announces.
      // In the default mode only while a listener is registered (NOTIFY serializes commits).
      const notify = ctx.settings.notify;
      const note =
        notify === 'never'
          ? sql``
          : sql`, case when outcome = 0 and current_setting(${names.eventsMark}, true) = '1' then set_config(${names.eventsNote}, json_build_object('p', last_position::text, 's', ${input.streamId}::text, 't', ${lastType}::text)::text, true) end as n`;
      const mark =
        notify === 'never'
          ? sql``
          : notify === 'always'
            ? sql` where (select set_config(${names.eventsMark}, '1', true)) is not null`
            : sql` where (select set_config(${names.eventsMark}, case when ${names.listened}() then '1' else '0' end, true)) is not null`;
      const [row] = await ctx.run<{ outcome: number; v: string; f: string | null; l: string | null; c: string | null }>(
        { operation: 'events.append', streamId: input.streamId },
        sql`select outcome, stream_version::text as v, first_position::text as f, last_position::text as l, conflict_id::text as c${note}
            from ${names.appendEvents}(${input.streamId}, ${kind}, ${expected}, ${checkIds}, ${payload}::jsonb)${mark}`,
      );
      if (row === undefined) throw new Error('append_events returned no row');
      if (row.outcome === 0 || row.outcome === 1) {
        const result: AppendResult = { version: Number(row.v), firstPosition: BigInt(row.f ?? '0'), lastPosition: BigInt(row.l ?? '0') };
        if (row.outcome === 0) {
          ctx.announce({ kind: 'events', streamId: input.streamId, type: lastType, position: result.lastPosition });
        }
        return result;
      }
      if (row.outcome === 2) throw ConcurrencyError.forStream(input.streamId, input.expectedVersion, Number(row.v));
      throw new EventIdConflictError(input.streamId, row.c ?? '(unknown)', CONFLICT_REASONS[row.outcome] ?? 'conflicts');
    },

    async *readStream(streamId, options) {
      ctx.check('events.readStream');
      const o = validateReadStream(streamId, options);
      const forward = o.direction === 'forward';
      const subject = { operation: 'events.readStream', streamId: o.streamId };
      let remaining = o.limit;
      let lo = o.fromVersion;
      let hi = o.toVersion;
      if (!forward || o.asOf !== undefined) {
        // Reading backward, or past rows that asOf filters out, needs to know where the stream ends.
        const [row] = await ctx.run<{ v: string }>(subject, sql`select version::text as v from ${names.streams} where stream_id = ${o.streamId}`);
        hi = Math.min(hi, Number(row?.v ?? 0));
      }
      const asOf = o.asOf === undefined ? sql`` : sql` and recorded_at <= ${o.asOf.toISOString()}::timestamptz`;
      const order = sql.raw(forward ? 'asc' : 'desc');
      while (remaining > 0 && lo <= hi) {
        // Versions are dense, so a page is an exact version range: the query touches only its rows,
        // whatever plan stale statistics lead the planner to.
        const n = Math.min(pageSize, remaining);
        const from = forward ? lo : Math.max(lo, hi - n + 1);
        const to = forward ? Math.min(hi, lo + n - 1) : hi;
        const rows = await ctx.run<EventRow>(
          subject,
          sql`select ${COLUMNS} from ${names.events}
              where stream_id = ${o.streamId} and version >= ${from} and version <= ${to}${asOf}
              order by version ${order}`,
        );
        for (const r of rows) {
          yield toEvent(r);
          if (--remaining === 0) return;
        }
        if (forward) {
          if (o.asOf === undefined && rows.length < to - from + 1) return; // past the end of the stream
          lo = to + 1;
        } else hi = from - 1;
      }
    },

    async *readAll(options) {
      ctx.check('events.readAll');
      const o = validateReadAll(options);
      const filters: SQL[] = [];
      if (o.types !== undefined) {
        // `type = any(array)` keeps the (type, position) index usable; a subquery would not.
        filters.push(o.types.length === 1 ? sql` and type = ${o.types[0]}` : sql` and type = any(${textArray(o.types)}::text[])`);
      }
      if (o.streamId !== undefined) filters.push(sql` and stream_id = ${o.streamId}`);
      if (o.streamPrefix !== undefined) {
        // stream_id is COLLATE "C", so the planner turns the literal prefix into a range on the
        // (stream_id, version) index.
        const literal = o.streamPrefix.replace(/[\\%_]/g, (c) => `\\${c}`);
        filters.push(sql` and stream_id like ${`${literal}%`} escape '\\'`);
      }
      if (o.correlationId !== undefined) {
        filters.push(sql` and metadata ? 'correlationId' and (metadata ->> 'correlationId') = ${o.correlationId}`);
      }
      const where = sql.join(filters, sql``);
      let after = o.after;
      let remaining = o.limit;
      while (remaining > 0) {
        const n = Math.min(pageSize, remaining);
        const rows = await ctx.run<EventRow>(
          { operation: 'events.readAll' },
          sql`select ${COLUMNS} from ${names.events}
              where position > ${after.toString()}::bigint and ${SAFE}${where}
              order by position limit ${n}`,
        );
        for (const r of rows) {
          yield toEvent(r);
          remaining--;
        }
        if (rows.length < n) return;
        after = BigInt(rows[rows.length - 1]?.p ?? '0');
      }
    },

    async streamInfo(streamId) {
      ctx.check('events.streamInfo');
      const id = validateStreamId(streamId);
      const [row] = await ctx.run<{ v: string; c: number; u: number }>(
        { operation: 'events.streamInfo', streamId: id },
        sql`select version::text as v, ${epochMs('created_at')} as c, ${epochMs('updated_at')} as u from ${names.streams} where stream_id = ${id}`,
      );
      if (row === undefined) return null;
      const version = Number(row.v);
      return { streamId: id, version, eventCount: version, createdAt: new Date(row.c), updatedAt: new Date(row.u) };
    },

    async headPosition() {
      const [row] = await ctx.run<{ h: string }>(
        { operation: 'events.headPosition' },
        sql`select coalesce(max(position), 0)::text as h from ${names.events} where ${SAFE}`,
      );
      return BigInt(row?.h ?? '0');
    },
  };
}
