import { dumbo } from '@event-driven-io/dumbo';
import { getPostgreSQLEventStore, readMessagesBatch } from '@event-driven-io/emmett-postgresql';
import type { EventSubject } from './types.js';

/** Emmett's PostgreSQL event store (`@event-driven-io/emmett-postgresql` 0.42) through its public API. */
export async function emmettEvents(url: string): Promise<EventSubject> {
  const store = getPostgreSQLEventStore(url);
  await store.schema.migrate();
  const pool = dumbo({ connectionString: url });
  let catchUps = 0;
  return {
    name: 'emmett',
    baseline: 'raw pg',
    async append(stream, events, expected) {
      await store.appendToStream(stream, events, { expectedStreamVersion: BigInt(expected) });
    },
    async readStream(stream) {
      return (await store.readStream(stream)).events.length;
    },
    async readAll(pageSize) {
      let after = 0n;
      let n = 0;
      for (;;) {
        const batch = await readMessagesBatch(pool.execute, { after, batchSize: pageSize });
        n += batch.messages.length;
        if (!batch.areMessagesLeft || batch.messages.length === 0) return n;
        after = batch.currentGlobalPosition;
      }
    },
    async catchUp(total, batchSize) {
      let n = 0;
      // A consumer closes the pool it runs on, and pools are shared per connection string: give it an
      // event store on a connection string of its own.
      const own = getPostgreSQLEventStore(`${url}${url.includes('?') ? '&' : '?'}application_name=catch_up_${++catchUps}`, {
        schema: { autoMigration: 'None' },
      });
      const consumer = own.consumer({ stopWhen: { noMessagesLeft: true }, pulling: { batchSize } });
      consumer.reactor({
        processorId: `catch-up-${Date.now()}-${Math.random()}`,
        startFrom: 'BEGINNING',
        eachMessage: async () => {
          // Stop at `total`, as the other subjects do (a rate either way; Emmett is slow enough here that
          // reading all 100,000 events twice took two minutes of the run).
          if (++n >= total) return { type: 'STOP' as const };
          return undefined;
        },
      });
      await consumer.start();
      await consumer.close();
      await own.close().catch(() => undefined);
      return Math.min(n, total);
    },
    async close() {
      await pool.close();
      await store.close();
    },
  };
}
