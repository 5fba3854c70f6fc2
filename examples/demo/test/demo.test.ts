import { createMemoryStore, type StrataStore } from '@strata/core';
import { createPgliteStore } from '@strata/pglite';
import { createPostgresStore } from '@strata/postgres';
import { createTestDatabase } from '@strata/testing';
import { describe, expect, inject, it } from 'vitest';
import { runDemo } from '../src/demo.js';

async function check(store: StrataStore) {
  const lines: string[] = [];
  try {
    const result = await runDemo(store, (l) => lines.push(l));
    expect(result.balances).toEqual({ 'account-ann': 575, 'account-bob': 480 });
    expect(result.alertsHandled.sort()).toEqual(['account-ann:700', 'account-bob:600']);
    expect(result.alertAttempts).toBe(3);
    expect(result.snapshotVersion).toBe(5);
    expect(result.balanceBeforeLastMovement).toBe(550);
    expect(result.queueAfter).toEqual({ ready: 0, inFlight: 0, delayed: 0, deadLettered: 0 });
    expect(lines.some((l) => l.startsWith('refused'))).toBe(true);
  } finally {
    await store.close();
  }
}

describe('the demo app runs the same on every adapter', () => {
  it('on the memory adapter', () => check(createMemoryStore()));
  it('on PGlite', { timeout: 60_000 }, async () => check(await createPgliteStore()));
  it('on PostgreSQL', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase(inject('strataPostgresUrl'));
    try {
      await check(await createPostgresStore(database.url));
    } finally {
      await database.drop();
    }
  });
});
