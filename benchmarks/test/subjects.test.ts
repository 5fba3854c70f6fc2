import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore } from '@strata/core';
import { createSqliteStore } from '@strata/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { rawPglite } from '../src/impls/raw-pglite.js';
import { rawSqliteConsume } from '../src/impls/raw-sqlite.js';
import { strataConsume } from '../src/impls/strata.js';
import { benchEvent } from '../src/impls/types.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bodies = (count: number) => Array.from({ length: count }, (_, i) => ({ n: i, text: 'a small job' }));

describe('raw pglite runs the raw pg statements on an in-memory PGlite', () => {
  it('appends, reads and catches up; sends, claims and deletes; consumes in both shapes', async () => {
    const lite = await rawPglite();
    const batched = await lite.consume('raw pglite', { claim: 100, deleteEach: false });
    const shaped = await lite.consume('raw pglite, claims of 4', { claim: 4, deleteEach: true });
    try {
      await lite.events.append('a', [benchEvent(0)], 0);
      await lite.events.append(
        'a',
        Array.from({ length: 100 }, (_, i) => benchEvent(i + 1)),
        1,
      );
      await lite.events.append('b', [benchEvent(0)], 0);
      // The unique (stream_id, version) guards the expected version, as on the server.
      await expect(lite.events.append('b', [benchEvent(1)], 0)).rejects.toThrow();
      expect(await lite.events.readStream('a')).toBe(101);
      expect(await lite.events.readAll(10)).toBe(102);
      expect(await lite.events.catchUp(102, 25)).toBe(102);

      await lite.queue.send('q', { n: 1 });
      await lite.queue.sendMany('q', bodies(150));
      expect(await lite.queue.receiveAndAck('q', 100)).toBe(100);
      expect(await lite.queue.receiveAndAck('q', 100)).toBe(51);
      expect(await lite.queue.receiveAndAck('q', 100)).toBe(0);

      for (const s of [batched, shaped]) {
        await s.fill('c', bodies(230));
        expect(await s.consumeAll('c', 230, 4)).toBe(230);
        expect(await lite.queue.receiveAndAck('c', 100)).toBe(0);
      }
    } finally {
      for (const s of [lite.events, lite.queue, batched, shaped]) await s.close();
    }
    // Booting PGlite takes seconds on a loaded machine.
  }, 120_000);
});

describe('the consume workload', () => {
  it('strataConsume() resolves once every message is handled and acked, and stops the consumer', async () => {
    const store = createMemoryStore();
    const s = strataConsume('strata memory', 'strata memory', store);
    await s.fill('c', bodies(300));
    expect(await s.consumeAll('c', 300, 4)).toBe(300);
    const stats = await store.queue.stats('c');
    expect(stats.ready + stats.inFlight).toBe(0);
    await store.close();
  });

  it('strataConsume() on SQLite, and the raw better-sqlite3 loops, handle every message once', async () => {
    const store = await createSqliteStore(join(dir, 'strata.db'));
    const subjects = [
      strataConsume('strata sqlite', 'raw better-sqlite3', store),
      rawSqliteConsume(join(dir, 'raw.db'), 'raw better-sqlite3', 'raw better-sqlite3', { claim: 100, deleteEach: false }),
      rawSqliteConsume(join(dir, 'raw.db'), 'raw better-sqlite3, claims of 4', 'raw better-sqlite3', { claim: 4, deleteEach: true }),
    ];
    try {
      for (const [k, s] of subjects.entries()) {
        await s.fill(`c${k}`, bodies(250));
        expect(await s.consumeAll(`c${k}`, 250, 4)).toBe(250);
        // Empty now: a second run finds nothing and returns at once.
        expect(await s.consumeAll(`c${k}`, 0, 4)).toBe(0);
      }
    } finally {
      for (const s of subjects) await s.close();
      await store.close();
    }
  });
});
