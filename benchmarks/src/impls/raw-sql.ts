import type { BenchEvent, ConsumeShape, ConsumeSubject, EventSubject, QueueSubject } from './types.js';

// The raw PostgreSQL baselines as SQL over any query function: node-postgres' `pool.query` (raw pg,
// against the server) and PGlite's `query` (raw pglite, in process) run exactly these statements. The
// work is written as simply and fast as possible, with none of Strata's guarantees beyond what a
// unique constraint gives (no gap safety, no idempotency, no visibility receipts).

/** Sends one statement with its parameters; `pg.Pool#query` and `PGlite#query` both fit. */
// biome-ignore lint/suspicious/noExplicitAny: rows are read by column name, as each driver returns them
export type Query = (text: string, values?: unknown[]) => Promise<{ rows: any[] }>;

/** The statements of the raw baselines, shared by every driver that speaks PostgreSQL. */
export const RAW_SQL = {
  createEvents: `create table if not exists raw_events (
    position bigserial primary key, stream_id text not null, version int not null, event_id uuid not null default gen_random_uuid(),
    type text not null, data jsonb not null, metadata jsonb not null default '{}', recorded_at timestamptz not null default now(),
    unique (stream_id, version))`,
  appendOne: 'insert into raw_events (stream_id, version, type, data) values ($1, $2, $3, $4)',
  appendMany: `insert into raw_events (stream_id, version, type, data)
           select $1, $2 + ord, x->>'type', x->'data' from jsonb_array_elements($3::jsonb) with ordinality as t(x, ord)`,
  readStream: 'select position, stream_id, version, event_id, type, data, metadata, recorded_at from raw_events where stream_id = $1 order by version',
  readPage: 'select position, stream_id, version, event_id, type, data, metadata, recorded_at from raw_events where position > $1 order by position limit $2',
  createQueue: `create table if not exists raw_queue (id bigserial primary key, queue text not null, body jsonb not null,
    visible_at timestamptz not null default now())`,
  createQueueIndex: 'create index if not exists raw_queue_ready on raw_queue (queue, id)',
  send: 'insert into raw_queue (queue, body) values ($1, $2)',
  sendMany: 'insert into raw_queue (queue, body) select $1, x from jsonb_array_elements($2::jsonb) as x',
  claim: `update raw_queue set visible_at = now() + interval '60 seconds'
         where id in (select id from raw_queue where queue = $1 and visible_at <= now() order by id limit $2 for update skip locked)
         returning id, body`,
  deleteMany: 'delete from raw_queue where id = any($1::bigint[])',
  deleteOne: 'delete from raw_queue where id = $1',
} as const;

/** The raw event baseline named `name` over `query`; `close` ends the connection(s) behind it. */
export async function rawSqlEvents(name: string, query: Query, close: () => Promise<void>): Promise<EventSubject> {
  await query(RAW_SQL.createEvents);
  const page = async (after: string | number, size: number) =>
    (await query(RAW_SQL.readPage, [after, size])).rows as { position: string | number; version: number }[];
  return {
    name,
    baseline: name,
    async append(stream: string, events: BenchEvent[], expected: number) {
      if (events.length === 1) {
        const e = events[0] as BenchEvent;
        await query(RAW_SQL.appendOne, [stream, expected + 1, e.type, JSON.stringify(e.data)]);
      } else {
        await query(RAW_SQL.appendMany, [stream, expected, JSON.stringify(events)]);
      }
    },
    async readStream(stream) {
      return (await query(RAW_SQL.readStream, [stream])).rows.length;
    },
    async readAll(pageSize) {
      let after: string | number = '0';
      let n = 0;
      for (;;) {
        const rows = await page(after, pageSize);
        n += rows.length;
        if (rows.length < pageSize) return n;
        after = (rows[rows.length - 1] as { position: string | number }).position;
      }
    },
    async catchUp(total, batchSize) {
      let after: string | number = '0';
      let n = 0;
      let sink = 0;
      while (n < total) {
        const rows = await page(after, batchSize);
        for (const r of rows) {
          sink += r.version; // the "handler"
          n++;
        }
        if (rows.length === 0) break;
        after = (rows[rows.length - 1] as { position: string | number }).position;
      }
      return sink >= 0 ? n : 0;
    },
    close,
  };
}

/** Creates the raw queue's table and index (idempotent). */
async function createQueue(query: Query): Promise<void> {
  await query(RAW_SQL.createQueue);
  await query(RAW_SQL.createQueueIndex);
}

/** The raw queue baseline named `name` over `query`; `close` ends the connection(s) behind it. */
export async function rawSqlQueue(name: string, query: Query, close: () => Promise<void>): Promise<QueueSubject> {
  await createQueue(query);
  return {
    name,
    baseline: name,
    async send(queue, body) {
      await query(RAW_SQL.send, [queue, JSON.stringify(body)]);
    },
    async sendMany(queue, bodies) {
      await query(RAW_SQL.sendMany, [queue, JSON.stringify(bodies)]);
    },
    async receiveAndAck(queue, max) {
      const { rows } = await query(RAW_SQL.claim, [queue, max]);
      if (rows.length > 0) await query(RAW_SQL.deleteMany, [rows.map((r: { id: string | number }) => r.id)]);
      return rows.length;
    },
    close,
  };
}

/** The no-op handler of the consume workload: what every implementation calls once per message. */
export const noopHandler = async (_body: unknown): Promise<void> => undefined;

/**
 * A raw consuming loop named `name` over `query`, compared with `baseline`: `concurrency` workers, each
 * claiming up to `claim` messages with `UPDATE … SKIP LOCKED … RETURNING`, calling the handler for each,
 * and deleting them (in one statement, or one statement per message when `deleteEach`), until a claim
 * comes back empty.
 */
export async function rawSqlConsume(name: string, baseline: string, query: Query, shape: ConsumeShape, close: () => Promise<void>): Promise<ConsumeSubject> {
  await createQueue(query);
  return {
    name,
    baseline,
    async fill(queue, bodies) {
      await query(RAW_SQL.sendMany, [queue, JSON.stringify(bodies)]);
    },
    async consumeAll(queue, _expected, concurrency) {
      let handled = 0;
      await Promise.all(
        Array.from({ length: shape.workers ?? concurrency }, async () => {
          for (;;) {
            const { rows } = await query(RAW_SQL.claim, [queue, shape.claim]);
            if (rows.length === 0) return;
            for (const r of rows as { id: string | number; body: unknown }[]) {
              await noopHandler(r.body);
              handled++;
              if (shape.deleteEach) await query(RAW_SQL.deleteOne, [r.id]);
            }
            if (!shape.deleteEach) await query(RAW_SQL.deleteMany, [rows.map((r: { id: string | number }) => r.id)]);
          }
        }),
      );
      return handled;
    },
    close,
  };
}
