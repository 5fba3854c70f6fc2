import { consume, type StoredEventOf, subscribe } from '@strata/core';
import { pgliteStores } from '@strata/testing/pglite';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';

type AccountEvent = { type: 'Deposited'; data: { amount: number } } | { type: 'Withdrawn'; data: { amount: number } };
const balances = pgTable('balances', { account: text('account').primaryKey(), total: integer('total').notNull() });

// A store per test from one PGlite instance (the testing package's): the read model is created in the
// store's own schema (first on the search path), so it goes with the schema after the test.
const stores = pgliteStores();
afterAll(() => stores.close());

async function open() {
  const store = await stores.fresh();
  onTestFinished(() => store.close());
  await store.pglite.exec(`set search_path to "${store.schema}"`);
  await store.db.execute(sql`create table balances (account text primary key, total integer not null)`);
  const read = async () => Object.fromEntries((await store.db.select().from(balances)).map((r) => [r.account, r.total]));
  return { store, read };
}

describe('a projection writing its read model through tx.db on PGlite', () => {
  it('commits application rows with the checkpoint, and rolls back a failed batch (no deadlock on the one connection)', async () => {
    const { store, read } = await open();
    await store.events.append('acct-1', [
      { type: 'Deposited', data: { amount: 10 } },
      { type: 'Deposited', data: { amount: 20 } },
      { type: 'Withdrawn', data: { amount: 5 } },
      { type: 'Withdrawn', data: { amount: 1000 } },
    ]);
    const sub = subscribe(store, {
      from: { consumer: 'balances' },
      handler: async (e: StoredEventOf<AccountEvent>, { tx }) => {
        if (tx === undefined) throw new Error('a named consumer on PGlite has a transaction');
        const delta = e.type === 'Deposited' ? e.data.amount : -e.data.amount;
        await tx.db
          .insert(balances)
          .values({ account: e.streamId, total: delta })
          .onConflictDoUpdate({ target: balances.account, set: { total: sql`${balances.total} + ${delta}` } });
        const [row] = await tx.db.select().from(balances).where(eq(balances.account, e.streamId));
        if ((row?.total ?? 0) < 0) throw new Error('overdrawn');
      },
    });
    const error = await sub.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('overdrawn');
    expect(await read()).toEqual({ 'acct-1': 25 });
    const stored = [];
    for await (const e of store.events.readStream('acct-1')) stored.push(e.position);
    expect((await store.checkpoints.get('balances'))?.position).toBe(stored[2]);
  });

  it('tx.db of store.transaction rolls back with the transaction', async () => {
    const { store, read } = await open();
    await store
      .transaction(async (tx) => {
        await tx.db.insert(balances).values({ account: 'a', total: 1 });
        await tx.events.append('a', [{ type: 'Opened', data: {} }]);
        throw new Error('changed my mind');
      })
      .catch(() => undefined);
    expect(await read()).toEqual({});
    expect(await store.events.streamInfo('a')).toBeNull();
    await store.transaction(async (tx) => {
      await tx.db.insert(balances).values({ account: 'a', total: 1 });
      await tx.events.append('a', [{ type: 'Opened', data: {} }]);
    });
    expect(await read()).toEqual({ a: 1 });
  });

  it("store.db inside the store's own transaction callback is refused with VALIDATION (use tx.db), not a hang", async () => {
    const { store } = await open();
    const error = await store
      .transaction(async (tx) => {
        await tx.events.append('a', [{ type: 'Opened', data: {} }]);
        await store.db.insert(balances).values({ account: 'a', total: 1 });
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: 'VALIDATION' });
    expect((error as Error).message).toContain('tx.db');
    expect(await store.events.streamInfo('a')).toBeNull();
    // The same slip in a named consumer's handler stops it with that error instead of wedging the store.
    await store.events.append('acct-1', [{ type: 'Deposited', data: { amount: 1 } }]);
    const sub = subscribe(store, {
      from: { consumer: 'c' },
      handler: async () => {
        await store.db.insert(balances).values({ account: 'x', total: 1 });
      },
    });
    await expect(sub.done).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(await store.checkpoints.get('c')).toBeNull();
  });

  it('close() stops a waiting worker and subscription at once, not at their next poll', async () => {
    const { store } = await open();
    const worker = consume(store, 'q', () => undefined, { pollIntervalMs: 60_000 });
    const sub = subscribe(store, { handler: () => undefined, pollIntervalMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await store.close();
    await expect(worker).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(sub.done).rejects.toMatchObject({ code: 'CLOSED' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
