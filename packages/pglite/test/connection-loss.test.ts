import { inspect } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { type ConnectionError, consume, isStrataError, subscribe } from '@strata/core';
import { recordingLogger } from '@strata/testing/server';
import { describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/index.js';

const codeOf = (e: unknown) => (isStrataError(e) ? e.code : `not a StrataError: ${String(e)}`);

describe('a PGlite instance closed under the store', () => {
  it('turns every call into a CONNECTION error that no retry can fix, reported once, and the store still closes', async () => {
    const pglite = await PGlite.create();
    const logger = recordingLogger();
    const store = await createPgliteStore({ pglite, logger });
    await store.events.append('s', [{ type: 'A', data: { card: '4111111111111111' } }]);
    await pglite.close();
    for (const call of [
      () => store.events.append('s', [{ type: 'B', data: { card: '4111111111111111' } }]),
      () => store.events.streamInfo('s'),
      () => store.queue.send('q', { body: 1 }),
      () => store.transaction(async (tx) => tx.events.append('s', [{ type: 'C', data: {} }])),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(codeOf(error)).toBe('CONNECTION');
      // Closed by the application: it never comes back, so retry loops must not spin on it.
      expect((error as ConnectionError).retryable).toBe(false);
      expect((error as ConnectionError).outcomeUnknown).toBe(false);
      expect((error as Error).message).toMatch(/PGlite is closed.*no retry can succeed: open a new store/);
      // Drizzle's error quotes every parameter; the cause Strata keeps does not.
      expect(inspect(error, { depth: 10 })).not.toContain('4111111111111111');
    }
    expect(logger.lines.filter((l) => /connection lost/.test(l.message))).toHaveLength(1);
    // subscribe() and consume() stop on it instead of retrying for ever.
    const sub = subscribe(store, { handler: () => undefined });
    await expect(sub.done).rejects.toMatchObject({ code: 'CONNECTION', retryable: false });
    await expect(consume(store, 'q', () => undefined)).rejects.toMatchObject({ code: 'CONNECTION', retryable: false });
    expect(logger.lines.filter((l) => l.level === 'error' && /stops/.test(l.message))).toHaveLength(2);
    expect(JSON.stringify(logger.lines)).not.toContain('4111111111111111');
    await store.close();
  });

  it('lets the transaction open when it was closed finish first, then fails calls, without hanging', async () => {
    const pglite = await PGlite.create();
    const store = await createPgliteStore({ pglite });
    let closing: Promise<void> | undefined;
    const version = await store.transaction(async (tx) => {
      await tx.events.append('t', [{ type: 'A', data: {} }]);
      closing = pglite.close(); // PGlite closes once the transaction holding it is done
      return (await tx.events.append('t', [{ type: 'B', data: {} }])).version;
    });
    expect(version).toBe(2);
    await closing;
    expect(pglite.closed).toBe(true);
    expect(codeOf(await store.events.streamInfo('t').catch((e: unknown) => e))).toBe('CONNECTION');
    await store.close();
  });
});

describe('a statement that fails inside a transaction', () => {
  it('fails the transaction even when the function catches it, instead of a silent rollback at COMMIT', async () => {
    const store = await createPgliteStore();
    await store.pglite.exec(`alter table "${store.schema}".queue_messages rename to queue_messages_away`);
    const error = await store
      .transaction(async (tx) => {
        await tx.events.append('kept?', [{ type: 'A', data: {} }]);
        await tx.queue.send('q', { body: 1 }).catch(() => undefined);
      })
      .catch((e: unknown) => e);
    // The error of the statement that doomed it: a missing table is MIGRATION.
    expect(codeOf(error)).toBe('MIGRATION');
    expect((error as Error).message).toMatch(
      /^queue\.send on queue "q": Strata's schema, tables or functions do not exist in this database \(SQLSTATE 42P01\)/,
    );
    expect(await store.events.streamInfo('kept?')).toBeNull();
    await store.close();
  });
});
