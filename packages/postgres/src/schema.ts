/**
 * Drizzle definitions of Strata's tables, published as `@strata/postgres/schema` for applications
 * that want to query them with Drizzle (joins with their own read models, reports).
 *
 * @module
 */

import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** The `xid8` type of `pg_current_xact_id()`, kept as its decimal text. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

/**
 * Stream ids compare bytewise (`COLLATE "C"`): a prefix filter is then an index range on
 * `(stream_id, version)` whatever the database's collation, and comparisons are cheaper.
 */
const streamIdText = customType<{ data: string; driverData: string }>({ dataType: () => 'text collate "C"' });

/**
 * Strata's tables in a PostgreSQL schema. The shipped migrations create them in the schema named by
 * the store's `schema` option; these definitions are what drizzle-kit generated them from, and what
 * queries are typed against.
 *
 * @param schemaName - the PostgreSQL schema
 * @defaultValue schemaName: `'strata'`
 */
export function strataTables(schemaName = 'strata') {
  const schema = pgSchema(schemaName);

  /** One row per stream: its current version and timestamps. The row lock serializes appends. */
  const streams = schema.table('streams', {
    streamId: streamIdText('stream_id').primaryKey(),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  });

  /**
   * Every event. `position` is derived from the writing transaction's id (`transaction_id`), so that
   * position order matches the order in which transactions become safe to read (see `append.sql`).
   */
  const events = schema.table(
    'events',
    {
      position: bigint('position', { mode: 'bigint' }).primaryKey(),
      transactionId: xid8('transaction_id').notNull(),
      streamId: streamIdText('stream_id').notNull(),
      version: bigint('version', { mode: 'number' }).notNull(),
      eventId: uuid('event_id').notNull(),
      type: text('type').notNull(),
      schemaVersion: integer('schema_version').notNull(),
      data: jsonb('data').notNull(),
      metadata: jsonb('metadata').notNull(),
      recordedAt: time('recorded_at').notNull(),
    },
    (t) => [
      uniqueIndex('events_stream_version_idx').on(t.streamId, t.version),
      uniqueIndex('events_event_id_idx').on(t.eventId),
      index('events_type_position_idx').on(t.type, t.position),
      index('events_correlation_idx').on(sql`(${t.metadata} ->> 'correlationId')`, t.position).where(sql`${t.metadata} ? 'correlationId'`),
    ],
  );

  /** Queue messages in every state; visibility is the `visible_at` timestamp. */
  const messages = schema.table(
    'queue_messages',
    {
      id: uuid('id').primaryKey(),
      queue: text('queue').notNull(),
      seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
      body: jsonb('body').notNull(),
      headers: jsonb('headers').notNull(),
      priority: integer('priority').notNull(),
      maxAttempts: integer('max_attempts').notNull(),
      dedupId: text('dedup_id'),
      attempt: integer('attempt').notNull().default(0),
      visibleAt: time('visible_at').notNull(),
      receipt: uuid('receipt'),
      dead: boolean('dead').notNull().default(false),
      reason: text('reason'),
      enqueuedAt: time('enqueued_at').notNull(),
      deadLetteredAt: time('dead_lettered_at'),
    },
    (t) => [
      index('queue_ready_idx').on(t.queue, t.priority.desc(), t.seq).where(sql`not ${t.dead}`),
      index('queue_dead_idx').on(t.queue, t.deadLetteredAt, t.seq).where(sql`${t.dead}`),
      uniqueIndex('queue_receipt_idx').on(t.receipt).where(sql`${t.receipt} is not null`),
      uniqueIndex('queue_dedup_idx').on(t.queue, t.dedupId).where(sql`${t.dedupId} is not null`),
    ],
  );

  /** Snapshots, newest K per stream. */
  const snapshots = schema.table(
    'snapshots',
    {
      streamId: text('stream_id').notNull(),
      version: bigint('version', { mode: 'number' }).notNull(),
      state: jsonb('state').notNull(),
      schemaVersion: integer('schema_version').notNull(),
      createdAt: time('created_at').notNull(),
    },
    (t) => [primaryKey({ columns: [t.streamId, t.version] })],
  );

  /** Consumers' checkpoints. */
  const checkpoints = schema.table('checkpoints', {
    consumer: text('consumer').primaryKey(),
    position: bigint('position', { mode: 'bigint' }).notNull(),
    updatedAt: time('updated_at').notNull(),
  });

  /** Consumers' leases: one running instance per named consumer. */
  const leases = schema.table('consumer_leases', {
    consumer: text('consumer').primaryKey(),
    owner: text('owner').notNull(),
    expiresAt: time('expires_at').notNull(),
  });

  return { schema, streams, events, messages, snapshots, checkpoints, leases };
}

/** The tables of one Strata schema. */
export type StrataTables = ReturnType<typeof strataTables>;

// What drizzle-kit reads to generate the shipped migrations (schema `strata`, renamed at apply time).
const generated = strataTables('strata');
export const { schema, streams, events, messages, snapshots, checkpoints, leases } = generated;
