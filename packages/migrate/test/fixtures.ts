import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consume, type StoredEvent, subscribe } from '@strata/core';
import { createSqliteStore } from '@strata/sqlite';
import { createTestDatabase, waitFor } from '@strata/testing';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

/** A database of its own for the calling test file, a pool on it, fresh schema names and a temp directory. */
export async function fileDatabase() {
  const database = await createTestDatabase(inject('strataPostgresUrl'), 'strata_mig');
  const pool = new pg.Pool({ connectionString: database.url, max: 10 });
  pool.on('error', () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'strata-migrate-'));
  let n = 0;
  afterAll(async () => {
    await pool.end();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: database.url,
    pool,
    /** A schema name not used before in this file. */
    schemaName: () => `m${++n}_${Math.random().toString(36).slice(2, 8)}`,
    /** A path for a new SQLite file. */
    file: (name: string) => join(dir, `${name}-${++n}.db`),
    dir,
  };
}

/** What {@link buildSource} left behind, for the checks after the migration. */
export interface SourceFacts {
  /** Receipt of the message still in flight in the source. */
  inFlightReceipt: string;
  /** Events the named consumer `projector` had not handled yet when the source was closed. */
  unhandled: string[];
  /** Bodies of the `jobs` messages still to do. */
  jobsLeft: string[];
}

/**
 * A SQLite database holding every kind of record in every state, written through the public API:
 * streams of events with metadata, unicode and schema versions; snapshots; messages ready, delayed,
 * in flight, retried with a reason, dead-lettered, with priority, headers and a dedup id; a named
 * consumer that stopped part-way; a queue worker that did part of its queue.
 */
export async function buildSource(path: string, options: { streams?: number; eventsPerStream?: number } = {}): Promise<SourceFacts> {
  const store = await createSqliteStore(path);
  const streams = options.streams ?? 4;
  const perStream = options.eventsPerStream ?? 5;
  for (let v = 0; v < perStream; v++) {
    for (let s = 0; s < streams; s++) {
      await store.events.append(`order-${s}`, [
        {
          type: v === 0 ? 'OrderPlaced' : 'ItemAdded',
          data: { n: v, s, price: 9.99 + v, note: 'caf\u00e9 \u{1f600}', nested: { list: [1, null, true, 'x'] } },
          metadata: { correlationId: `c-${s}`, userId: 'u1' },
          schemaVersion: 1 + (v % 2),
        },
      ]);
    }
  }
  await store.snapshots.save('order-0', { version: 2, state: { items: 2 } });
  await store.snapshots.save('order-0', { version: 4, state: { items: 4 }, schemaVersion: 2 });

  // A named consumer handles everything so far, then stops; later events stay unhandled.
  const handled: StoredEvent[] = [];
  const total = streams * perStream;
  const sub = subscribe(store, { from: { consumer: 'projector' }, handler: (e) => void handled.push(e) });
  await waitFor(() => handled.length === total, 'the projector to catch up on SQLite');
  await sub.stop();
  const unhandled: string[] = [];
  for (let i = 0; i < 3; i++) await store.events.append('late', [{ type: 'Late', data: { i } }]);
  for await (const e of store.events.readStream('late')) unhandled.push(e.id);
  await store.checkpoints.set('idle', 0n);

  // Queue: a worker did one job; two are left, one of them with higher priority.
  await store.queue.send('jobs', [{ body: 'job-1' }, { body: 'job-2' }, { body: 'job-3', priority: 9, headers: { trace: 't-3' } }]);
  const stop = new AbortController();
  const done: unknown[] = [];
  const worker = consume(
    store,
    'jobs',
    async (m) => {
      done.push(m.body);
      stop.abort();
    },
    { concurrency: 1, signal: stop.signal },
  );
  await worker;
  const jobsLeft = ['job-1', 'job-2', 'job-3'].filter((b) => !done.includes(b));

  // Mail: delayed (with a dedup id), in flight, retried with a reason, dead-lettered.
  await store.queue.send('mail', { body: { to: 'later' }, dedupId: 'welcome-1' }, { delayMs: 3_600_000 });
  await store.queue.send('mail', [{ body: { to: 'flight' } }, { body: { to: 'retry' } }, { body: { to: 'dead' } }]);
  const got = await store.queue.receive('mail', { max: 3, visibilityTimeoutMs: 600_000 });
  const by = (to: string) => got.find((d) => (d.body as { to: string }).to === to);
  await store.queue.nack(by('retry')?.receipt ?? '', { reason: 'smtp timeout' });
  await store.queue.nack(by('dead')?.receipt ?? '', { deadLetter: true, reason: 'bad address' });
  const inFlightReceipt = by('flight')?.receipt ?? '';
  await store.close();
  return { inFlightReceipt, unhandled, jobsLeft };
}
