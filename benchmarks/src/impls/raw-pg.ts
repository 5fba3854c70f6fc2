import pg from 'pg';
import { rawSqlConsume, rawSqlEvents, rawSqlQueue } from './raw-sql.js';
import type { ConsumeShape, ConsumeSubject, EventSubject, QueueSubject } from './types.js';

// The raw node-postgres baselines: the statements of `raw-sql.ts` through a pool on the bench's server.

function pool(url: string): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max: 10 });
  p.on('error', () => undefined);
  return p;
}

/** Raw pg events: plain inserts guarded by a unique `(stream_id, version)`, pages by position. */
export async function rawPgEvents(url: string): Promise<EventSubject> {
  const p = pool(url);
  return rawSqlEvents(
    'raw pg',
    (text, values) => p.query(text, values),
    () => p.end(),
  );
}

/** Raw pg queue: inserts, one `UPDATE … SKIP LOCKED` claim and one batched `DELETE` per batch. */
export async function rawPgQueue(url: string): Promise<QueueSubject> {
  const p = pool(url);
  return rawSqlQueue(
    'raw pg',
    (text, values) => p.query(text, values),
    () => p.end(),
  );
}

/** A raw pg consuming loop (see `rawSqlConsume`) on a pool of its own. */
export function rawPgConsume(url: string, name: string, baseline: string, shape: ConsumeShape): Promise<ConsumeSubject> {
  const p = pool(url);
  return rawSqlConsume(
    name,
    baseline,
    (text, values) => p.query(text, values),
    shape,
    () => p.end(),
  );
}
