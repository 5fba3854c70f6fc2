import { contentHash } from '@strata/core';
import { validateSchemaName } from './migrate.js';

/**
 * The LISTEN/NOTIFY channels of a Strata schema: fixed names derived from the schema name alone
 * (lowercase, at most 63 bytes), never from a stream id, queue name or any other user string.
 */
export interface NotificationChannels {
  /** Where a transaction that appended events announces it. */
  readonly events: string;
  /** Where a transaction that sent (or nacked, or redrove) queue messages announces it. */
  readonly queue: string;
}

/** PostgreSQL's longest identifier, in bytes; longer channel names are refused by `pg_notify`. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * The channels on which the database announces commits to the schema `schema` (`strata_events` and
 * `strata_queue` for the default schema). A schema name with capitals, or too long to leave room for the
 * suffix, gets a short hash of its exact spelling, so that two schemas never share a channel.
 *
 * @example
 * ```ts
 * notificationChannels('strata') // { events: 'strata_events', queue: 'strata_queue' }
 * ```
 */
export function notificationChannels(schema: string): NotificationChannels {
  const lower = schema.toLowerCase();
  const stem = lower === schema && lower.length + '_events'.length <= MAX_IDENTIFIER_BYTES ? lower : `${lower.slice(0, 40)}_${contentHash(schema)}`;
  return { events: `${stem}_events`, queue: `${stem}_queue` };
}

/**
 * The transaction-local settings that carry a schema's notes to the commit trigger, and the values that
 * fill the placeholders of the notification migration.
 */
export function notificationPlaceholders(schema: string): Record<string, string> {
  const channels = notificationChannels(schema);
  return {
    __STRATA_KEY__: contentHash(`strata-schema:${schema}`),
    __STRATA_EVENTS_CHANNEL__: channels.events,
    __STRATA_QUEUE_CHANNEL__: channels.queue,
  };
}

/** The names of the transaction-local settings of the schema's events note: the note, and the mark that queues the commit trigger. */
export function eventsNoteSettings(schema: string): { note: string; mark: string } {
  const key = notificationPlaceholders(schema).__STRATA_KEY__;
  return { note: `strata.ev_${key}`, mark: `strata.evw_${key}` };
}

/** What a notification on a schema's events channel says: a wake-up, never the events themselves. */
export interface EventsNotification {
  /** Position of the last event the committing transaction appended. */
  position: bigint;
  /** Its stream. */
  streamId: string;
  /** Its type. */
  type: string;
  /**
   * Whether readers see the events as soon as the transaction commits: `false` when an older transaction
   * was still running (gap-safe reads wait for it), `undefined` when not said.
   */
  readable?: boolean;
}

/** What a notification on a schema's queue channel says: the queues written, or `null` for "every queue". */
export interface QueueNotification {
  /** The queues the committing transaction sent to (or nacked or redrove in), `null` when too many to list. */
  queues: string[] | null;
}

/** Parses an events notification's payload; `undefined` when it is not one Strata sent. */
export function parseEventsNotification(payload: string | undefined): EventsNotification | undefined {
  try {
    const v = JSON.parse(payload ?? '') as { p?: unknown; s?: unknown; t?: unknown; r?: unknown };
    if (typeof v.p !== 'string' || !/^\d{1,20}$/.test(v.p) || typeof v.s !== 'string' || typeof v.t !== 'string') return undefined;
    return { position: BigInt(v.p), streamId: v.s, type: v.t, ...(typeof v.r === 'boolean' ? { readable: v.r } : {}) };
  } catch {
    return undefined;
  }
}

/** Parses a queue notification's payload; `undefined` when it is not one Strata sent. */
export function parseQueueNotification(payload: string | undefined): QueueNotification | undefined {
  try {
    const v = JSON.parse(payload ?? '') as { q?: unknown };
    if (v.q === null) return { queues: null };
    if (!Array.isArray(v.q) || !v.q.every((q) => typeof q === 'string')) return undefined;
    return { queues: v.q as string[] };
  } catch {
    return undefined;
  }
}

/** How long a listener's registration lasts unless renewed; listeners renew it well before. */
export const LISTENER_TTL_MS = 30_000;

/**
 * SQL (plain text: it runs on a listening connection) that registers listener `id` on `schema` for
 * {@link LISTENER_TTL_MS}, or renews it: stores in the default notify mode (`'auto'`) announce their
 * commits only while some registration is unexpired. It also clears registrations long expired.
 *
 * @param schema - a validated schema name
 * @param id - the listener's id, a UUID
 */
export function listenerRegistrationSql(schema: string, id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new Error('listener id must be a UUID');
  const table = `"${validateSchemaName(schema)}"."listeners"`;
  return `with expired as (delete from ${table} where expires_at < statement_timestamp() - interval '1 hour')
    insert into ${table} (id, expires_at) values ('${id}', statement_timestamp() + interval '${LISTENER_TTL_MS} milliseconds')
    on conflict (id) do update set expires_at = excluded.expires_at`;
}

/** SQL (plain text) that removes listener `id`'s registration on `schema`. */
export function listenerUnregistrationSql(schema: string, id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new Error('listener id must be a UUID');
  return `delete from "${validateSchemaName(schema)}"."listeners" where id = '${id}'`;
}
