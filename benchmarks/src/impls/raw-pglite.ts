import { PGlite } from '@electric-sql/pglite';
import { rawSqlConsume, rawSqlEvents, rawSqlQueue } from './raw-sql.js';
import type { ConsumeShape, ConsumeSubject, EventSubject, QueueSubject } from './types.js';

// The raw PGlite baselines: the statements of the raw pg baselines (`raw-sql.ts`), on an in-memory
// PGlite instance of their own, so that the `strata pglite` rows are compared with the same engine in
// the same process doing the same SQL.

/** The raw pglite subjects, sharing one in-memory instance; it closes when every subject has closed. */
export async function rawPglite(): Promise<{
  events: EventSubject;
  queue: QueueSubject;
  consume: (name: string, shape: ConsumeShape) => Promise<ConsumeSubject>;
}> {
  const db = await PGlite.create('memory://');
  const query = (text: string, values?: unknown[]) => db.query(text, values);
  let open = 2;
  const release = async () => {
    if (--open === 0) await db.close();
  };
  return {
    events: await rawSqlEvents('raw pglite', query, release),
    queue: await rawSqlQueue('raw pglite', query, release),
    consume: (name, shape) => {
      open++;
      return rawSqlConsume(name, 'raw pglite', query, shape, release);
    },
  };
}
