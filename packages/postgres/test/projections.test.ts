import { isStrataError, type StoredEventOf, subscribe } from '@strata/core';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgSchema, text } from 'drizzle-orm/pg-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type AnyPgDatabase, createPostgresStore, type PostgresStore } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

type AccountEvent = { type: 'Deposited'; data: { amount: number } } | { type: 'Withdrawn'; data: { amount: number } };

/** An application table of the store's schema, and the read model kept in it. */
async function withBalances(store: PostgresStore) {
  const balances = pgSchema(store.schema).table('balances', { account: text('account').primaryKey(), total: integer('total').notNull() });
  await store.db.execute(sql.raw(`create table "${store.schema}".balances (account text primary key, total integer not null)`));
  const read = async () => Object.fromEntries((await store.db.select().from(balances)).map((r) => [r.account, r.total]));
  return { balances, read };
}

async function open(connection: 'url' | 'drizzle') {
  const store = await createPostgresStore(connection === 'url' ? fx.url : (drizzle(fx.pool) as unknown as AnyPgDatabase), { schema: fx.schemaName() });
  onTestFinished(() => store.close());
  return store;
}

describe.each(['url', 'drizzle'] as const)('a projection writing its read model through tx.db (store from a %s)', (connection) => {
  it('commits application rows with the checkpoint, and rolls back a failed batch', async () => {
    const store = await open(connection);
    const { balances, read } = await withBalances(store);
    await store.events.append('acct-1', [
      { type: 'Deposited', data: { amount: 10 } },
      { type: 'Deposited', data: { amount: 20 } },
      { type: 'Withdrawn', data: { amount: 5 } },
      { type: 'Withdrawn', data: { amount: 1000 } },
    ]);
    const sub = subscribe(store, {
      from: { consumer: 'balances' },
      handler: async (e: StoredEventOf<AccountEvent>, { tx }) => {
        if (tx === undefined) throw new Error('a named consumer on PostgreSQL has a transaction');
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
    // The three good events committed (with their checkpoint); the overdraft's row did not.
    expect(await read()).toEqual({ 'acct-1': 25 });
    const stored = [];
    for await (const e of store.events.readStream('acct-1')) stored.push(e.position);
    expect((await store.checkpoints.get('balances'))?.position).toBe(stored[2]);
  });

  it('tx.db of store.transaction rolls back with the transaction', async () => {
    const store = await open(connection);
    const { balances, read } = await withBalances(store);
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
    expect((await store.events.streamInfo('a'))?.version).toBe(1);
  });

  it('a failed application statement fails the transaction instead of a silent rollback', async () => {
    const store = await open(connection);
    const { balances } = await withBalances(store);
    const outcome = await store
      .transaction(async (tx) => {
        await tx.events.append('a', [{ type: 'Opened', data: {} }]);
        await tx.db.insert(balances).values({ account: 'a', total: 1 });
        // A duplicate key aborts the PostgreSQL transaction; the application swallows the error.
        await tx.db
          .insert(balances)
          .values({ account: 'a', total: 1 })
          .catch(() => undefined);
      })
      .then(
        () => 'committed',
        (e: unknown) => (isStrataError(e) ? e.code : String(e)),
      );
    expect(outcome).not.toBe('committed');
    expect(await store.events.streamInfo('a')).toBeNull();
  });

  it("tx.db.transaction() is a savepoint: it never commits the consumer's batch half way", async () => {
    const store = await open(connection);
    const { balances, read } = await withBalances(store);
    await store.events.append(
      'acct-1',
      [1, 2, 3, 4, 5].map((amount) => ({ type: 'Deposited', data: { amount } })),
    );
    const calls: number[] = [];
    const sub = subscribe(store, {
      from: { consumer: 'c' },
      handler: async (e: StoredEventOf<AccountEvent>, { tx }) => {
        if (tx === undefined) throw new Error('needs a transaction');
        const row = { account: `${e.streamId}-${e.data.amount}`, total: e.data.amount };
        if (e.data.amount === 2) await tx.db.transaction(async (inner) => void (await inner.insert(balances).values(row)));
        else await tx.db.insert(balances).values(row);
        calls.push(e.data.amount);
        if (e.data.amount === 4) throw new Error('boom');
      },
    });
    await expect(sub.done).rejects.toThrow('boom');
    expect(Object.keys(await read()).sort()).toEqual(['acct-1-1', 'acct-1-2', 'acct-1-3']);
    const stored = [];
    for await (const e of store.events.readStream('acct-1')) stored.push(e.position);
    expect((await store.checkpoints.get('c'))?.position).toBe(stored[2]);
  });

  it('tx.db is refused once its transaction settled, and bounded by statementTimeoutMs', async () => {
    const store = await createPostgresStore(connection === 'url' ? fx.url : (drizzle(fx.pool) as unknown as AnyPgDatabase), {
      schema: fx.schemaName(),
      statementTimeoutMs: 500,
    });
    onTestFinished(() => store.close());
    let kept: AnyPgDatabase | undefined;
    await store.transaction(async (tx) => {
      kept = tx.db;
    });
    await expect(kept?.execute(sql`select 1`)).rejects.toMatchObject({ cause: expect.objectContaining({ code: 'CLOSED' }) });
    const started = Date.now();
    const error = await store
      .transaction(async (tx) => {
        await tx.db.execute(sql`select pg_sleep(3)`);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(Date.now() - started).toBeLessThan(2500);
    const chain: unknown[] = [];
    for (let e = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) chain.push((e as { code?: unknown }).code);
    expect(chain).toContain('CONNECTION');
  });

  it("tx.db keeps the application's Drizzle casing and relational schema", async () => {
    const schemaName = fx.schemaName();
    const accounts = pgSchema(schemaName).table('accounts', { accountId: text().primaryKey(), openingTotal: integer().notNull() });
    const appDb = drizzle(fx.pool, { casing: 'snake_case', schema: { accounts } });
    const store = await createPostgresStore(connection === 'url' ? appDb : (appDb as unknown as AnyPgDatabase), { schema: schemaName });
    onTestFinished(() => store.close());
    await appDb.execute(sql.raw(`create table "${schemaName}".accounts (account_id text primary key, opening_total integer not null)`));
    await store.transaction(async (tx) => {
      const txDb = tx.db as unknown as typeof appDb;
      await txDb.insert(accounts).values({ accountId: 'a', openingTotal: 5 });
      expect(await txDb.query.accounts.findFirst()).toEqual({ accountId: 'a', openingTotal: 5 });
    });
    expect(await appDb.select().from(accounts)).toEqual([{ accountId: 'a', openingTotal: 5 }]);
  });
});
