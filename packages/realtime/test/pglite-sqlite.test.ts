import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consume, type StoredEvent, subscribe } from '@strata/core';
import { createPgliteStore } from '@strata/pglite';
import { createSqliteStore } from '@strata/sqlite';
import { sleep, waitFor } from '@strata/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createListener } from '../src/index.js';

const NEVER = 600_000;

describe('PGlite: the same API over its in-process LISTEN', () => {
  it('wakes a subscription and a worker on writes the store itself cannot announce (join(tx)), then its health', async () => {
    const store = await createPgliteStore();
    const listener = await createListener({ client: () => store.pglite, backstopIntervalMs: NEVER });
    expect(listener.state).toBe('connected');
    const live = listener.attach(store);
    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: { consumer: 'p' }, pollIntervalMs: NEVER, handler: (e) => void seen.push(e) });
    const stop = new AbortController();
    const got: unknown[] = [];
    const worker = consume(live, 'jobs', async (m) => void got.push(m.body), { pollIntervalMs: NEVER, signal: stop.signal });
    await sleep(200);
    // Writes through a transaction the application opened: only the database's notification says so.
    await store.db.transaction(async (tx) => {
      await store.join(tx).events.append('a', [{ type: 'T', data: {} }]);
      await store.join(tx).queue.send('jobs', { body: 'j' });
    });
    await waitFor(() => seen.length === 1 && got.length === 1, 'notified delivery on PGlite');
    const health = await listener.health();
    expect(health.state).toBe('connected');
    expect(health.lastNotificationAt).toBeInstanceOf(Date);
    await waitFor(async () => (await listener.health()).consumers.some((c) => c.consumer === 'p' && c.lag === 0n), 'the consumer to be caught up');
    await sub.stop();
    stop.abort();
    await worker;
    await listener.close();
    await store.close();
  });
});

describe('SQLite: the same API over the adapter’s own wake-ups (no LISTEN)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-rt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('polls, says so, and delivers another connection’s commits', async () => {
    const path = join(dir, 'app.db');
    const reader = await createSqliteStore(path);
    const writer = await createSqliteStore(path);
    const listener = await createListener();
    expect(listener.state).toBe('polling');
    const live = listener.attach(reader);
    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: { consumer: 's' }, handler: (e) => void seen.push(e) });
    await sleep(50);
    await writer.events.append('x', [{ type: 'T', data: {} }]);
    await waitFor(() => seen.length === 1, 'delivery on SQLite');
    const health = await listener.health();
    expect(health.state).toBe('polling');
    expect(health.notificationQueueUsage).toBeNull();
    await waitFor(async () => (await listener.health()).consumers.some((c) => c.consumer === 's' && c.lag === 0n), 'the consumer to be caught up');
    await sub.stop();
    await listener.close();
    await reader.close();
    await writer.close();
  });
});
