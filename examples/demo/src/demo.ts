import { aggregateStream, consume, createRepository, type NewEvent } from '@strata/core';
import type { PostgresStore } from '@strata/postgres';
import { type Account, type AccountEvent, commands, evolve, initialAccount } from './account.js';
import { createBalancesTable, projectBalances, readBalances } from './balances.js';

/** What the demo ends with, for its test. */
export interface DemoResult {
  balances: Record<string, number>;
  alertsHandled: string[];
  alertAttempts: number;
  snapshotVersion: number | null;
  balanceBeforeLastMovement: number;
  queueAfter: { ready: number; inFlight: number; delayed: number; deadLettered: number };
}

const LARGE = 500;

/**
 * Runs the demo on any store: accounts with a snapshotting repository, large withdrawals announced
 * through the queue in the same transaction as the events (outbox), a worker that handles those alerts
 * (failing once to show retries), and a projection that keeps balances in a table of its own, written
 * in the transaction that advances its checkpoint, so that it survives a restart exactly.
 */
export async function runDemo(store: PostgresStore, log: (line: string) => void): Promise<DemoResult> {
  const accounts = createRepository<Account, AccountEvent>(store, { initialState: initialAccount, evolve, snapshotEvery: 5 });

  // The projection: balances per account in the `balances` table, fed by a named subscription whose
  // checkpoint commits with the rows.
  await createBalancesTable(store);
  const projection = projectBalances(store);

  // The worker: handles large-withdrawal alerts; the first attempt fails to show a retry.
  const stop = new AbortController();
  const alertsHandled: string[] = [];
  let alertAttempts = 0;
  const worker = consume(
    store,
    'alerts',
    async (d) => {
      alertAttempts++;
      const alert = d.body as { account: string; amount: number };
      if (alertAttempts === 1) throw new Error('mail server busy');
      alertsHandled.push(`${alert.account}:${alert.amount}`);
      log(`worker   alert for ${alert.account}: withdrew ${alert.amount} (attempt ${d.attempt})`);
    },
    { concurrency: 2, retryBaseMs: 100, signal: stop.signal, onError: (e) => log(`worker   failed once: ${(e as Error).message}; retrying`) },
  );

  const run = async (account: string, decide: (s: Account) => NewEvent[]) => {
    const r = await accounts.update(account, decide);
    return r;
  };

  log('opening two accounts');
  await run('account-ann', commands.open('Ann'));
  await run('account-bob', commands.open('Bob'));

  const movements: [string, 'deposit' | 'withdraw', number][] = [
    ['account-ann', 'deposit', 1000],
    ['account-bob', 'deposit', 200],
    ['account-ann', 'withdraw', 50],
    ['account-ann', 'deposit', 300],
    ['account-bob', 'withdraw', 20],
    ['account-ann', 'withdraw', 700],
    ['account-ann', 'deposit', 25],
    ['account-bob', 'deposit', 900],
    ['account-bob', 'withdraw', 600],
  ];
  for (const [account, kind, amount] of movements) {
    if (kind === 'deposit') {
      const r = await run(account, commands.deposit(amount));
      log(`command  ${account} deposit ${amount} → version ${r.version}, balance ${r.state.balance}`);
      continue;
    }
    // A withdrawal and, when large, its alert commit together: the outbox without an outbox table.
    const r = await store.transaction(async (tx) => {
      const result = await accounts.withTransaction(tx).update(account, commands.withdraw(amount));
      if (amount >= LARGE) await tx.queue.send('alerts', { body: { account, amount }, dedupId: `${account}@${result.version}` });
      return result;
    });
    log(`command  ${account} withdraw ${amount} → version ${r.version}, balance ${r.state.balance}${amount >= LARGE ? ' (alert queued)' : ''}`);
  }

  try {
    await run('account-bob', commands.withdraw(10_000));
  } catch (error) {
    log(`refused  account-bob withdraw 10000: ${(error as Error).message}`);
  }

  // Wait for the projection to reach the head and the worker to drain the queue.
  const head = await store.events.headPosition();
  const projected = async () => ((await store.checkpoints.get('balances'))?.position ?? 0n) >= head;
  for (let i = 0; i < 400 && (!(await projected()) || alertsHandled.length < 2); i++) await new Promise((r) => setTimeout(r, 25));
  stop.abort();
  await worker;
  await projection.stop();

  const snapshot = await store.snapshots.load('account-ann');
  log(`snapshot account-ann has a snapshot at version ${snapshot?.version ?? 'none'}`);
  const ann = await accounts.load('account-ann');
  log(`load     account-ann from snapshot + events: balance ${ann.state.balance} at version ${ann.version}`);
  const before = await aggregateStream(store, 'account-ann', { initialState: initialAccount, evolve, toVersion: ann.version - 1 });
  log(`history  account-ann before its last movement: balance ${before.state.balance}`);
  const balances = await readBalances(store);
  log(`project  balances table ${JSON.stringify(balances)} (checkpoint ${(await store.checkpoints.get('balances'))?.position})`);
  const stats = await store.queue.stats('alerts');
  log(`queue    alerts: ${stats.ready} ready, ${stats.inFlight} in flight, ${stats.deadLettered} dead`);

  return {
    balances,
    alertsHandled,
    alertAttempts,
    snapshotVersion: snapshot?.version ?? null,
    balanceBeforeLastMovement: before.state.balance,
    queueAfter: { ready: stats.ready, inFlight: stats.inFlight, delayed: stats.delayed, deadLettered: stats.deadLettered },
  };
}
