import { createMemoryStore } from '@strata/core';
import { expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';

it('runs the demo end to end on the memory adapter', async () => {
  const store = createMemoryStore();
  const lines: string[] = [];
  const result = await runDemo(store, (l) => lines.push(l));
  await store.close();
  expect(result.balances).toEqual({ 'account-ann': 575, 'account-bob': 480 });
  expect(result.alertsHandled.sort()).toEqual(['account-ann:700', 'account-bob:600']);
  expect(result.alertAttempts).toBe(3);
  expect(result.snapshotVersion).toBe(5);
  expect(result.balanceBeforeLastMovement).toBe(550);
  expect(result.queueAfter).toEqual({ ready: 0, inFlight: 0, delayed: 0, deadLettered: 0 });
  expect(lines.some((l) => l.startsWith('refused'))).toBe(true);
});
