import {
  type AppendResult,
  ConcurrencyError,
  type EventMetadata,
  type EventStore,
  expectedVersionMatches,
  resolveRetry,
  type StoredEvent,
  type StoredEventRef,
  validateAppend,
  validateReadAll,
  validateReadStream,
  validateStreamId,
} from '@strata/core';
import type { SqliteContext } from './connection.js';
import { parseJson } from './rows.js';

/** A row of {@link COLUMNS} in raw mode: position (text), stream, version, id, type, schema version, data, metadata, recorded at. */
type EventRow = [p: string, s: string, v: number, id: string, type: string, sv: number, data: string, metadata: string, at: number];

const COLUMNS = 'CAST(position AS TEXT), stream_id, version, event_id, type, schema_version, data, metadata, recorded_at';

const SQL = {
  stream: 'SELECT version, created_at FROM strata_streams WHERE stream_id = ?',
  knownIds: `SELECT ${COLUMNS} FROM strata_events WHERE event_id IN (SELECT value FROM json_each(?))`,
  insertEvent:
    'INSERT INTO strata_events (stream_id, version, event_id, type, schema_version, data, metadata, correlation_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  insertStream: 'INSERT INTO strata_streams (stream_id, version, created_at, updated_at) VALUES (?, ?, ?, ?)',
  updateStream: 'UPDATE strata_streams SET version = ?, updated_at = ? WHERE stream_id = ?',
  info: 'SELECT version, created_at, updated_at FROM strata_streams WHERE stream_id = ?',
  head: 'SELECT CAST(coalesce(max(position), 0) AS TEXT) AS h FROM strata_events',
};

function readStreamSql(backward: boolean, asOf: boolean): string {
  return `SELECT ${COLUMNS} FROM strata_events WHERE stream_id = ? AND version >= ? AND version <= ?${asOf ? ' AND recorded_at <= ?' : ''} ORDER BY version${backward ? ' DESC' : ''} LIMIT ?`;
}

function toEvent(r: EventRow): StoredEvent {
  // Stryker disable next-line all: the name `parseJson` gives stored JSON it cannot parse, which takes a corrupted database file: no correct use of the contracts on a healthy database gets there (errors.test.ts covers it)
  const what = () => `event ${r[3]} of stream ${JSON.stringify(r[1])}`;
  return {
    id: r[3],
    streamId: r[1],
    version: r[2],
    position: BigInt(r[0]),
    type: r[4],
    data: parseJson(r[6], what),
    metadata: parseJson<EventMetadata>(r[7], what),
    schemaVersion: r[5],
    recordedAt: new Date(r[8]),
  };
}

/** The SQLite event store. */
export function sqliteEvents(ctx: SqliteContext): EventStore {
  const S = ctx.sql;
  const pageSize = ctx.settings.readPageSize;
  // lastInsertRowid as a bigint: positions are read without precision loss.
  const insertEvent = () => S.get(SQL.insertEvent).safeIntegers(true);

  return {
    async append(streamId, events, options) {
      ctx.check('events.append');
      const input = validateAppend(streamId, events, options, ctx.settings.maxPayloadBytes);
      const checkIds = events.some((e) => e.id !== undefined);
      return ctx.write({ operation: 'events.append', streamId: input.streamId }, (announce): AppendResult => {
        const stream = S.get(SQL.stream).get(input.streamId) as { version: number; created_at: number } | undefined;
        const actual = stream?.version ?? 0;
        if (checkIds) {
          const known = new Map<string, StoredEventRef>();
          for (const r of S.rows(SQL.knownIds).all(JSON.stringify(input.events.map((e) => e.id))) as EventRow[]) {
            const e = toEvent(r);
            known.set(e.id, e);
          }
          const retried = resolveRetry(input.streamId, input.events, (id) => known.get(id));
          if (retried !== undefined) return retried;
        }
        if (!expectedVersionMatches(input.expectedVersion, actual)) {
          throw ConcurrencyError.forStream(input.streamId, input.expectedVersion, actual);
        }
        const now = Date.now();
        const insert = insertEvent();
        let version = actual;
        let first = 0n;
        let last = 0n;
        for (const e of input.events) {
          version++;
          const position = insert.run(
            input.streamId,
            version,
            e.id,
            e.type,
            e.schemaVersion,
            JSON.stringify(e.data),
            JSON.stringify(e.metadata),
            e.metadata.correlationId, // validated: a string, or undefined, which binds as NULL
            now,
          ).lastInsertRowid as bigint;
          if (first === 0n) first = position;
          last = position;
        }
        if (stream === undefined) S.get(SQL.insertStream).run(input.streamId, version, now, now);
        else S.get(SQL.updateStream).run(version, now, input.streamId);
        announce({ kind: 'events', streamId: input.streamId, type: input.events[input.events.length - 1]?.type ?? '', position: last });
        return { version, firstPosition: first, lastPosition: last };
      });
    },

    async *readStream(streamId, options) {
      ctx.check('events.readStream');
      const o = validateReadStream(streamId, options);
      const backward = o.direction === 'backward';
      const text = readStreamSql(backward, o.asOf !== undefined);
      let remaining = o.limit;
      let lo = o.fromVersion;
      let hi = o.toVersion;
      while (remaining > 0) {
        const n = Math.min(pageSize, remaining);
        const params: unknown[] = [o.streamId, lo, hi];
        if (o.asOf !== undefined) params.push(o.asOf.getTime());
        params.push(n);
        const rows = await ctx.read({ operation: 'events.readStream', streamId: o.streamId }, () => S.rows(text).all(...params) as EventRow[]);
        for (const r of rows) {
          yield toEvent(r);
          remaining--;
        }
        if (rows.length < n) return;
        const lastVersion = (rows[rows.length - 1] as EventRow)[2];
        if (backward) hi = lastVersion - 1;
        else lo = lastVersion + 1;
      }
    },

    async *readAll(options) {
      ctx.check('events.readAll');
      const o = validateReadAll(options);
      let where = 'position > ?';
      const filters: unknown[] = [];
      if (o.types !== undefined) {
        where += ' AND type IN (SELECT value FROM json_each(?))';
        filters.push(JSON.stringify(o.types));
      }
      if (o.streamId !== undefined) {
        where += ' AND stream_id = ?';
        filters.push(o.streamId);
      }
      if (o.streamPrefix !== undefined) {
        // substr counts characters like SQLite's length(): a literal prefix, no LIKE wildcards.
        where += ' AND substr(stream_id, 1, ?) = ?';
        filters.push([...o.streamPrefix].length, o.streamPrefix);
      }
      if (o.correlationId !== undefined) {
        where += ' AND correlation_id = ?';
        filters.push(o.correlationId);
      }
      const text = `SELECT ${COLUMNS} FROM strata_events WHERE ${where} ORDER BY position LIMIT ?`;
      let after = o.after;
      let remaining = o.limit;
      while (remaining > 0) {
        const n = Math.min(pageSize, remaining);
        const rows = await ctx.read({ operation: 'events.readAll' }, () => S.rows(text).all(after, ...filters, n) as EventRow[]);
        for (const r of rows) {
          yield toEvent(r);
          remaining--;
        }
        if (rows.length < n) return;
        after = BigInt((rows[rows.length - 1] as EventRow)[0]);
      }
    },

    async streamInfo(streamId) {
      ctx.check('events.streamInfo');
      const id = validateStreamId(streamId);
      const row = await ctx.read(
        { operation: 'events.streamInfo', streamId: id },
        () => S.get(SQL.info).get(id) as { version: number; created_at: number; updated_at: number } | undefined,
      );
      if (row === undefined) return null;
      return { streamId: id, version: row.version, eventCount: row.version, createdAt: new Date(row.created_at), updatedAt: new Date(row.updated_at) };
    },

    async headPosition() {
      ctx.check('events.headPosition');
      const row = await ctx.read({ operation: 'events.headPosition' }, () => S.get(SQL.head).get() as { h: string });
      return BigInt(row.h);
    },
  };
}
