import { type ChangeNotice, type ErrorSubject, StoreClosedError, type TransactionScope } from '@strata/core';
import { type SQL, sql } from 'drizzle-orm';
import { eventsNoteSettings } from './notify.js';
import type { PgExecutor } from './session.js';

/** Store settings after defaults. */
export interface PgSettings {
  /** Rows per read page. */
  readonly readPageSize: number;
  /** Snapshots kept per stream. */
  readonly snapshotsToKeep: number;
  /** Default deliveries before dead-lettering. */
  readonly maxAttempts: number;
  /** Largest event, message or snapshot, in bytes of JSON. */
  readonly maxPayloadBytes: number;
  /** When appends and sends are announced at commit (LISTEN/NOTIFY): while listened to, always, never. */
  readonly notify: 'auto' | 'always' | 'never';
}

/** Qualified names of a Strata schema's objects, for SQL text. */
export interface PgNames {
  /** The schema's name (a plain identifier). */
  readonly schema: string;
  readonly streams: SQL;
  readonly events: SQL;
  readonly messages: SQL;
  readonly snapshots: SQL;
  readonly checkpoints: SQL;
  readonly leases: SQL;
  readonly appendEvents: SQL;
  readonly claimMessages: SQL;
  readonly queueStats: SQL;
  readonly noteQueue: SQL;
  readonly listened: SQL;
  /** The transaction-local setting that carries the events note to the commit trigger. */
  readonly eventsNote: string;
  /** The transaction-local mark that lets an append queue the commit trigger. */
  readonly eventsMark: string;
}

/** Builds the qualified names of schema `schema` (already validated as a plain identifier). */
export function namesOf(schema: string): PgNames {
  const q = (name: string) => sql.raw(`"${schema}"."${name}"`);
  return {
    schema,
    streams: q('streams'),
    events: q('events'),
    messages: q('queue_messages'),
    snapshots: q('snapshots'),
    checkpoints: q('checkpoints'),
    leases: q('consumer_leases'),
    appendEvents: q('append_events'),
    claimMessages: q('claim_messages'),
    queueStats: q('queue_stats'),
    noteQueue: q('note_queue'),
    listened: q('listened'),
    eventsNote: eventsNoteSettings(schema).note,
    eventsMark: eventsNoteSettings(schema).mark,
  };
}

/**
 * Where a contract runs its SQL: the store's database, or a transaction. Each statement checks that the
 * store (or transaction) is still open and maps driver errors in one place.
 */
export interface PgContext {
  readonly names: PgNames;
  readonly settings: PgSettings;
  /** Rejects with `CLOSED` when the store or transaction is closed. */
  check(operation: string): void;
  /** Runs one statement and returns its rows. */
  run<T>(subject: ErrorSubject, query: SQL): Promise<T[]>;
  /** Announces a change once it is committed. */
  announce(notice: ChangeNotice): void;
}

/**
 * A context over `executor`; `isOpen` says whether statements may still run, `what` names it in errors;
 * `scope`, for the store's own context, refuses statements from inside the store's transaction callbacks.
 */
export function pgContext(
  executor: PgExecutor,
  names: PgNames,
  settings: PgSettings,
  isOpen: () => boolean,
  what: 'store' | 'transaction',
  announce: (notice: ChangeNotice) => void,
  scope?: TransactionScope,
): PgContext {
  const check = (operation: string) => {
    if (!isOpen()) throw new StoreClosedError(operation, what);
  };
  return {
    names,
    settings,
    check,
    async run<T>(subject: ErrorSubject, query: SQL): Promise<T[]> {
      check(subject.operation);
      if (scope === undefined) return executor.execute<T>(subject, query);
      return scope.admit(subject.operation, () => executor.execute<T>(subject, query));
    },
    announce,
  };
}

/** SQL for "now", truncated to what a JavaScript `Date` holds, so that stored times compare exactly. */
export const NOW = sql.raw(`date_trunc('milliseconds', statement_timestamp())`);

/** SQL text turning a timestamptz column into epoch milliseconds (a float8 holding an integer). */
export function epochMsText(column: string): string {
  // date_part returns float8; extract returns numeric, whose arithmetic is several times slower per row.
  return `round(date_part('epoch', ${column}) * 1000)`;
}

/** {@link epochMsText} as a SQL chunk. */
export function epochMs(column: string): SQL {
  return sql.raw(epochMsText(column));
}

/**
 * SQL text turning a timestamptz column into epoch milliseconds exactly over a `Date`'s whole range:
 * {@link epochMsText}'s float8 arithmetic loses milliseconds past the year 70000, where `extract`'s
 * exact (and slower) numeric takes over.
 */
export function exactEpochMsText(column: string): string {
  return `(case when ${column} < timestamptz '70000-01-01 00:00:00+00' then ${epochMsText(column)} else (extract(epoch from ${column}) * 1000)::float8 end)`;
}

/**
 * SQL text turning epoch milliseconds (a bigint expression) into a timestamptz exactly over a `Date`'s
 * whole range: `to_timestamp(ms / 1000.0)` goes through a float8 of microseconds and loses
 * milliseconds past the year 2255. Days and milliseconds are added to a timestamp without time zone,
 * so that no daylight-saving rule of the session's zone applies.
 */
export function timestampOfMsText(ms: string): string {
  return `((timestamp '1970-01-01' + make_interval(days => (${ms} / 86400000)::int) + (${ms} % 86400000) * interval '1 millisecond') at time zone 'UTC')`;
}
