import pg from 'pg';
import type { BenchEvent, EventSubject, QueueSubject } from './types.js';

// The raw node-postgres baselines: the same work written as simply and fast as possible, with none of
// Strata's guarantees beyond what a unique constraint gives (no gap safety, no idempotency, no
// visibility receipts).

export async function rawPgEvents(url: string): Promise<EventSubject> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined);
  await pool.query(`create table if not exists raw_events (
    position bigserial primary key, stream_id text not null, version int not null, event_id uuid not null default gen_random_uuid(),
    type text not null, data jsonb not null, metadata jsonb not null default '{}', recorded_at timestamptz not null default now(),
    unique (stream_id, version))`);
  const page = async (after: string, size: number) =>
    (
      await pool.query(
        'select position, stream_id, version, event_id, type, data, metadata, recorded_at from raw_events where position > $1 order by position limit $2',
        [after, size],
      )
    ).rows as {
      position: string;
      version: number;
    }[];
  return {
    name: 'raw pg',
    baseline: 'raw pg',
    async append(stream: string, events: BenchEvent[], expected: number) {
      if (events.length === 1) {
        const e = events[0] as BenchEvent;
        await pool.query('insert into raw_events (stream_id, version, type, data) values ($1, $2, $3, $4)', [
          stream,
          expected + 1,
          e.type,
          JSON.stringify(e.data),
        ]);
      } else {
        await pool.query(
          `insert into raw_events (stream_id, version, type, data)
           select $1, $2 + ord, x->>'type', x->'data' from jsonb_array_elements($3::jsonb) with ordinality as t(x, ord)`,
          [stream, expected, JSON.stringify(events)],
        );
      }
    },
    async readStream(stream) {
      return (
        await pool.query(
          'select position, stream_id, version, event_id, type, data, metadata, recorded_at from raw_events where stream_id = $1 order by version',
          [stream],
        )
      ).rows.length;
    },
    async readAll(pageSize) {
      let after = '0';
      let n = 0;
      for (;;) {
        const rows = await page(after, pageSize);
        n += rows.length;
        if (rows.length < pageSize) return n;
        after = (rows[rows.length - 1] as { position: string }).position;
      }
    },
    async catchUp(total, batchSize) {
      let after = '0';
      let n = 0;
      let sink = 0;
      while (n < total) {
        const rows = await page(after, batchSize);
        for (const r of rows) {
          sink += r.version; // the "handler"
          n++;
        }
        if (rows.length === 0) break;
        after = (rows[rows.length - 1] as { position: string }).position;
      }
      return sink >= 0 ? n : 0;
    },
    close: () => pool.end(),
  };
}

export async function rawPgQueue(url: string): Promise<QueueSubject> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined);
  await pool.query(`create table if not exists raw_queue (id bigserial primary key, queue text not null, body jsonb not null,
    visible_at timestamptz not null default now())`);
  await pool.query('create index if not exists raw_queue_ready on raw_queue (queue, id)');
  return {
    name: 'raw pg',
    baseline: 'raw pg',
    async send(queue, body) {
      await pool.query('insert into raw_queue (queue, body) values ($1, $2)', [queue, JSON.stringify(body)]);
    },
    async sendMany(queue, bodies) {
      await pool.query('insert into raw_queue (queue, body) select $1, x from jsonb_array_elements($2::jsonb) as x', [queue, JSON.stringify(bodies)]);
    },
    async receiveAndAck(queue, max) {
      const { rows } = await pool.query(
        `update raw_queue set visible_at = now() + interval '60 seconds'
         where id in (select id from raw_queue where queue = $1 and visible_at <= now() order by id limit $2 for update skip locked)
         returning id, body`,
        [queue, max],
      );
      if (rows.length > 0) await pool.query('delete from raw_queue where id = any($1::bigint[])', [rows.map((r: { id: string }) => r.id)]);
      return rows.length;
    },
    close: () => pool.end(),
  };
}
