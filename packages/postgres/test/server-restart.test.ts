import { randomUUID } from 'node:crypto';
import { isStrataError, type StoredEvent, subscribe } from '@strata/core';
import { createTestDatabase, recordingLogger, sleep, startPostgres, waitFor } from '@strata/testing/server';
import { afterAll, expect, it } from 'vitest';
import { createPostgresStore } from '../src/index.js';

// Restarting needs a server this file owns, so it starts its own even when DATABASE_URL is set.
const server = await startPostgres({ own: true });
const database = await createTestDatabase(server.url);
afterAll(() => server.stop());

async function collect(events: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

it('a named consumer survives a server restart, resumes by itself, and projects every event exactly once', { timeout: 120_000 }, async () => {
  const logger = recordingLogger();
  // Default options throughout, as an application would run it.
  const store = await createPostgresStore(database.url, { logger });
  const total = 300;
  let readErrors = 0;
  let projected = 0;
  const sub = subscribe(store, {
    from: { consumer: 'order-projection' },
    types: ['OrderPlaced'],
    handler: async (event, { tx }) => {
      // The projection commits with the checkpoint: exactly once, or the test sees a duplicate.
      await tx?.events.append('projection', [{ type: 'Projected', data: { source: event.id } }]);
      await sleep(2); // keep the transaction open across an await, as real projections do
      projected++;
    },
    onReadError: () => {
      readErrors++;
    },
  });

  let retries = 0;
  const producer = (async () => {
    for (let i = 0; i < total; i++) {
      const event = { id: randomUUID(), type: 'OrderPlaced', data: { order: i } };
      for (;;) {
        try {
          await store.events.append(`order-${i}`, [event]);
          break;
        } catch (error) {
          // The documented rule: retry what is retryable, with the same event ids.
          if (!isStrataError(error) || !error.retryable) throw error;
          retries++;
          await sleep(50);
        }
      }
      await sleep(3);
    }
  })();

  await waitFor(() => projected >= total / 4, 'the projection to be under way', 60_000);
  await server.restart?.();
  await producer;
  await waitFor(async () => ((await store.events.streamInfo('projection'))?.version ?? 0) >= total, 'the projection to catch up', 60_000);
  await sleep(500); // room for a duplicate to show up, were there one

  const sources = (await collect(store.events.readAll({ types: ['OrderPlaced'] }))).map((e) => e.id);
  const projection = (await collect(store.events.readStream('projection'))).map((e) => (e.data as { source: string }).source);
  expect(sources).toHaveLength(total);
  expect(projection).toEqual(sources);
  expect((await store.checkpoints.get('order-projection'))?.position).toBe(sub.position);
  expect(sub.active).toBe(true);

  // The restart really hit both the writer and the consumer, and the logger heard of it.
  expect(retries).toBeGreaterThan(0);
  expect(readErrors).toBeGreaterThan(0);
  expect(logger.lines.some((l) => l.level === 'warn' && /connection lost/.test(l.message))).toBe(true);
  expect(logger.lines.some((l) => l.level === 'info' && /connection recovered/.test(l.message))).toBe(true);

  await sub.stop();
  await store.close();
  await database.drop();
});
