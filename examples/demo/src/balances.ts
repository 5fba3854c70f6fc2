import { rebuildProjection, type Subscription, type SubscriptionContext, subscribe } from '@strata/core';
import type { AnyPgDatabase, PostgresStore } from '@strata/postgres';
import { sql } from 'drizzle-orm';
import { integer, pgSchema, text } from 'drizzle-orm/pg-core';
import type { AccountEvent } from './account.js';

/** The read model: one row per account, in the store's schema, next to Strata's tables. */
export function balancesTable(schema: string) {
  return pgSchema(schema).table('balances', {
    account: text('account').primaryKey(),
    balance: integer('balance').notNull(),
  });
}

/** Creates the read model's table if needed (an application would ship this as a migration). */
export async function createBalancesTable(store: PostgresStore): Promise<void> {
  await store.db.execute(sql.raw(`create table if not exists "${store.schema}".balances (account text primary key, balance integer not null)`));
}

/** Options of {@link projectBalances}. */
export interface ProjectionOptions {
  /** Stops the projection. */
  signal?: AbortSignal;
  /** Slows each event down (the kill test uses it to stop the projection half way). @defaultValue 0 */
  delayPerEventMs?: number;
}

const handlerOf = (store: PostgresStore, options: ProjectionOptions) => {
  const balances = balancesTable(store.schema);
  return async (e: AccountEvent, { tx }: SubscriptionContext<AnyPgDatabase>) => {
    if (tx === undefined) throw new Error('the balances projection needs a store with transactions');
    if (e.type === 'AccountOpened') return;
    const delta = e.type === 'Deposited' ? e.data.amount : -e.data.amount;
    // Written through the checkpoint's transaction: the row and the checkpoint commit together, so a
    // crash at any moment neither loses nor repeats a movement.
    await tx.db
      .insert(balances)
      .values({ account: e.streamId, balance: delta })
      .onConflictDoUpdate({ target: balances.account, set: { balance: sql`${balances.balance} + ${delta}` } });
    if (options.delayPerEventMs) await new Promise((resolve) => setTimeout(resolve, options.delayPerEventMs));
  };
};

/**
 * The balances projection: a named consumer that resumes from its checkpoint after a restart and
 * writes the `balances` table in the transaction that advances it.
 */
export function projectBalances(store: PostgresStore, options: ProjectionOptions = {}): Subscription {
  return subscribe(store, {
    from: { consumer: 'balances' },
    streamPrefix: 'account-',
    handler: handlerOf(store, options),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/** Empties the table and replays every event into it (after a change to the projection's code). */
export function rebuildBalances(store: PostgresStore): Promise<Subscription> {
  const balances = balancesTable(store.schema);
  return rebuildProjection(store, {
    consumer: 'balances',
    streamPrefix: 'account-',
    clear: async (tx) => {
      await tx.db.delete(balances);
    },
    handler: handlerOf(store, {}),
  });
}

/** The balances as the table holds them. */
export async function readBalances(store: PostgresStore): Promise<Record<string, number>> {
  const rows = await store.db.select().from(balancesTable(store.schema));
  return Object.fromEntries(rows.map((r) => [r.account, r.balance]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}
