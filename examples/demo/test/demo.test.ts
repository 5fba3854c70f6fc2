import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { NewEvent } from '@strata/core';
import { createPgliteStore } from '@strata/pglite';
import { createPostgresStore, type PostgresStore } from '@strata/postgres';
import { createTestDatabase, waitFor } from '@strata/testing';
import { sql } from 'drizzle-orm';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { balancesTable, createBalancesTable, projectBalances, readBalances, rebuildBalances } from '../src/balances.js';
import { runDemo } from '../src/demo.js';

async function check(store: PostgresStore) {
  const lines: string[] = [];
  try {
    const result = await runDemo(store, (l) => lines.push(l));
    expect(result.balances).toEqual({ 'account-ann': 575, 'account-bob': 480 });
    expect(await readBalances(store)).toEqual(result.balances);
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

async function serverStore(schema?: string) {
  const database = await createTestDatabase(inject('strataPostgresUrl'));
  const store = await createPostgresStore(database.url, schema === undefined ? {} : { schema });
  onTestFinished(async () => {
    await store.close();
    await database.drop();
  });
  return { store, url: database.url };
}

/** The balances a fresh replay of every event gives, up to `upTo` (a position) when given. */
async function replay(store: PostgresStore, upTo?: bigint): Promise<Record<string, number>> {
  const balances: Record<string, number> = {};
  for await (const e of store.events.readAll({ streamPrefix: 'account-' })) {
    if (upTo !== undefined && e.position > upTo) break;
    const amount = (e.data as { amount?: number }).amount ?? 0;
    if (e.type === 'Deposited') balances[e.streamId] = (balances[e.streamId] ?? 0) + amount;
    if (e.type === 'Withdrawn') balances[e.streamId] = (balances[e.streamId] ?? 0) - amount;
  }
  return Object.fromEntries(Object.entries(balances).sort(([a], [b]) => a.localeCompare(b)));
}

describe('the demo app runs the same on every adapter', () => {
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

describe("the demo's balances projection", () => {
  it('killed mid-projection, resumes and ends equal to a fresh replay', { timeout: 120_000 }, async () => {
    const { store, url } = await serverStore('demo_kill');
    await createBalancesTable(store);
    for (let a = 0; a < 10; a++) {
      const events: NewEvent[] = [{ type: 'AccountOpened', data: { owner: `owner ${a}` } }];
      for (let i = 1; i <= 40; i++) events.push({ type: i % 4 === 0 ? 'Withdrawn' : 'Deposited', data: { amount: i * (a + 1) } });
      await store.events.append(`account-${a}`, events);
    }
    const head = await store.events.headPosition();

    const tsx = createRequire(import.meta.url).resolve('tsx');
    const script = fileURLToPath(new URL('./projector-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=@strata/source', '--import', tsx, script, url, 'demo_kill'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    // Kill it once it has committed part of the way, and not all of it.
    await waitFor(async () => ((await store.checkpoints.get('balances'))?.position ?? 0n) > 0n, 'the child to project something', 60_000).catch((e: Error) => {
      throw new Error(`${e.message}; its stderr: ${stderr}`);
    });
    child.kill('SIGKILL');
    await exited;
    const killedAt = (await store.checkpoints.get('balances'))?.position ?? 0n;
    expect(killedAt).toBeGreaterThan(0n);
    expect(killedAt).toBeLessThan(head);
    // What committed is exactly the events up to the checkpoint: no movement lost or counted twice.
    expect(await readBalances(store)).toEqual(await replay(store, killedAt));

    // Restarted, it resumes after its checkpoint and ends where a fresh replay ends.
    const restarted = projectBalances(store);
    await waitFor(async () => ((await store.checkpoints.get('balances'))?.position ?? 0n) >= head, 'the restarted projection to catch up', 60_000);
    await restarted.stop();
    const expected = await replay(store);
    expect(Object.keys(expected)).toHaveLength(10);
    expect(await readBalances(store)).toEqual(expected);

    // A rebuild clears the table and replays: a corrupted read model comes back right.
    await store.db.update(balancesTable(store.schema)).set({ balance: sql`0` });
    const rebuilt = await rebuildBalances(store);
    await waitFor(async () => ((await store.checkpoints.get('balances'))?.position ?? 0n) >= head, 'the rebuild to catch up', 60_000);
    await rebuilt.stop();
    expect(await readBalances(store)).toEqual(expected);
  });
});
