// A projector in a process of its own, run by chaos.test.ts with tsx until it is killed: a named
// consumer, woken through a listener, that counts each stream's events in `proj_totals` and records
// each delivery (its pid, the event's position) in `deliveries`, both through the transaction that
// advances its checkpoint.
//
// argv: url schema consumer leaseTtlMs delayPerEventMs
// With STRATA_CHAOS_BROKEN_CHILD=1 in the environment it writes through a pool of its own instead of
// `tx.db` (outside the checkpoint's transaction): only used by hand, to see chaos.test.ts fail.
import { type SubscriptionContext, subscribe } from '@strata/core';
import { type AnyPgDatabase, createPostgresStore } from '@strata/postgres';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { createListener } from '../src/index.js';

const [url = '', schema = '', consumer = 'proj', ttl = '10000', delay = '0'] = process.argv.slice(2);
const delayMs = Number(delay);
const store = await createPostgresStore(url, { schema, migrate: false, poolSize: 4 });
const broken = process.env.STRATA_CHAOS_BROKEN_CHILD === '1' ? drizzle(new pg.Pool({ connectionString: url, max: 2 })) : undefined;
const listener = await createListener({ connectionString: url });
const live = listener.attach(store);

subscribe(live, {
  from: { consumer },
  leaseTtlMs: Number(ttl),
  handler: async (e, { tx }: SubscriptionContext<AnyPgDatabase>) => {
    if (tx === undefined) throw new Error('a named consumer on PostgreSQL gets a transaction');
    const db = broken ?? tx.db;
    await db.execute(
      sql`insert into ${sql.identifier(schema)}.proj_totals (stream, n) values (${e.streamId}, 1)
          on conflict (stream) do update set n = proj_totals.n + 1`,
    );
    await db.execute(
      sql`insert into ${sql.identifier(schema)}.deliveries (pid, position, at) values (${process.pid}, ${e.position.toString()}::bigint, clock_timestamp())`,
    );
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  },
});
console.log('subscribed');
