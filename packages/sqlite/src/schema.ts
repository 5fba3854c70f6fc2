/**
 * Drizzle definitions of Strata's SQLite tables, published as `@strata/sqlite/schema` for applications
 * that want to query them with Drizzle. drizzle-kit generates the shipped migrations from them.
 *
 * @module
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

// Stryker disable all: not run by the adapter. These declarations are published for applications' own Drizzle queries and for drizzle-kit, which generated the migrations the adapter applies (the suite sees those); packages/sqlite/test/sqlite.test.ts checks that drizzle-kit finds no change between them.

/** One row per stream: its current version and timestamps (epoch milliseconds). */
export const streams = sqliteTable('strata_streams', {
  streamId: text('stream_id').primaryKey(),
  version: integer('version').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Every event. `position` is an AUTOINCREMENT key: SQLite has one writer at a time, so positions are
 * assigned in commit order and never reused.
 */
export const events = sqliteTable(
  'strata_events',
  {
    position: integer('position').primaryKey({ autoIncrement: true }),
    streamId: text('stream_id').notNull(),
    version: integer('version').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    schemaVersion: integer('schema_version').notNull(),
    data: text('data').notNull(),
    metadata: text('metadata').notNull(),
    correlationId: text('correlation_id'),
    recordedAt: integer('recorded_at').notNull(),
  },
  (t) => [
    uniqueIndex('strata_events_stream_version_idx').on(t.streamId, t.version),
    uniqueIndex('strata_events_event_id_idx').on(t.eventId),
    index('strata_events_type_position_idx').on(t.type, t.position),
    index('strata_events_correlation_idx').on(t.correlationId, t.position).where(sql`${t.correlationId} is not null`),
  ],
);

/** Queue messages in every state; visibility is the `visible_at` time. */
export const messages = sqliteTable(
  'strata_queue_messages',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    id: text('id').notNull(),
    queue: text('queue').notNull(),
    body: text('body').notNull(),
    headers: text('headers').notNull(),
    priority: integer('priority').notNull(),
    maxAttempts: integer('max_attempts').notNull(),
    dedupId: text('dedup_id'),
    attempt: integer('attempt').notNull().default(0),
    visibleAt: integer('visible_at').notNull(),
    receipt: text('receipt'),
    dead: integer('dead').notNull().default(0),
    reason: text('reason'),
    enqueuedAt: integer('enqueued_at').notNull(),
    deadLetteredAt: integer('dead_lettered_at'),
  },
  (t) => [
    uniqueIndex('strata_queue_id_idx').on(t.id),
    index('strata_queue_ready_idx').on(t.queue, sql`${t.priority} desc`, t.seq).where(sql`${t.dead} = 0`),
    index('strata_queue_dead_idx').on(t.queue, t.deadLetteredAt, t.seq).where(sql`${t.dead} = 1`),
    uniqueIndex('strata_queue_receipt_idx').on(t.receipt).where(sql`${t.receipt} is not null`),
    uniqueIndex('strata_queue_dedup_idx').on(t.queue, t.dedupId).where(sql`${t.dedupId} is not null`),
  ],
);

/** Snapshots, newest K per stream. */
export const snapshots = sqliteTable(
  'strata_snapshots',
  {
    streamId: text('stream_id').notNull(),
    version: integer('version').notNull(),
    state: text('state').notNull(),
    schemaVersion: integer('schema_version').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.version] })],
);

/** Consumers' checkpoints. */
export const checkpoints = sqliteTable('strata_checkpoints', {
  consumer: text('consumer').primaryKey(),
  position: integer('position', { mode: 'number' }).notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Consumers' leases: one running instance per named consumer. */
export const leases = sqliteTable('strata_consumer_leases', {
  consumer: text('consumer').primaryKey(),
  owner: text('owner').notNull(),
  expiresAt: integer('expires_at').notNull(),
});
