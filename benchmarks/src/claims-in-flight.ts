// `node --import tsx src/claims-in-flight.ts`: what a claim costs when other workers hold messages ahead of
// it. A claim with a visibility timeout leaves the messages it took in the table (their receipt and deadline
// set) until they are acked, so the next claim, which walks the ready index in (priority, seq) order, meets
// them first and must look at each to see that it is not visible yet. A raw loop that claims and deletes
// in one transaction leaves nothing behind. With four workers each holding a claim of 100 while it acks,
// a claim steps over up to 300 such messages. This script holds 0, 100, 300 and 900 messages in flight at
// the head of a 20,000-message queue and times `receive` of 100 (then `ackMany` of them) through the
// public API, on PostgreSQL (started here, durable defaults) and on a SQLite file (Strata's defaults), and
// shows the PostgreSQL claim's plan (rows removed by the visibility filter, buffers). Evidence for
// docs/benchmarks.md ("What bounds each Strata figure"); not part of `pnpm bench`. CLAIM_REPS (40).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StrataStore } from '@strata/core';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { createTestDatabase, startPostgres } from '@strata/testing';
import pg from 'pg';
import { percentile } from './measure.js';

const REPS = Math.round(Number(process.env.CLAIM_REPS ?? 40));
const QUEUE_SIZE = 20_000;
const HELD = [0, 100, 300, 900];
const now = () => Number(process.hrtime.bigint()) / 1e6;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** p50 of `receive` of 100 and of `ackMany` of them, with `held` messages claimed (not acked) ahead. */
async function measure(store: StrataStore, queue: string, held: number, explain?: () => Promise<string>) {
  const holding: string[] = [];
  while (holding.length < held) {
    const got = await store.queue.receive(queue, { max: Math.min(100, held - holding.length), visibilityTimeoutMs: 600_000 });
    holding.push(...got.map((d) => d.receipt));
  }
  const receive: number[] = [];
  const ack: number[] = [];
  for (let i = 0; i < REPS + 3; i++) {
    let t = now();
    const got = await store.queue.receive(queue, { max: 100, visibilityTimeoutMs: 60_000 });
    const r = now() - t;
    if (got.length !== 100) throw new Error(`received ${got.length}`);
    t = now();
    await store.queue.ackMany(got.map((d) => d.receipt));
    if (i >= 3) {
      receive.push(r);
      ack.push(now() - t);
    }
  }
  const plan = explain === undefined ? undefined : await explain();
  for (let i = 0; i < holding.length; i += 100) await store.queue.ackMany(holding.slice(i, i + 100));
  return { receive: round2(percentile(receive, 50)), ack: round2(percentile(ack, 50)), plan };
}

async function fill(store: StrataStore, queue: string) {
  for (let i = 0; i < QUEUE_SIZE; i += 1000)
    await store.queue.send(
      queue,
      Array.from({ length: 1000 }, (_, k) => ({ body: { n: i + k } })),
    );
}

const work = mkdtempSync(join(tmpdir(), 'strata-bench-claims-'));
const server = await startPostgres({ settings: {} });
const database = await createTestDatabase(server.url, 'strata_bench_claims');
try {
  const pgStore = await createPostgresStore(database.url);
  const sqliteStore = await createSqliteStore(join(work, 'claims.db'));
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  /** The claim of claim_messages (drizzle/0002_claim_function.sql) with the function's settings, rolled back. */
  const explain = (queue: string) => async () => {
    await client.query('begin');
    try {
      await client.query('set local enable_bitmapscan = off');
      await client.query('set local enable_sort = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers, costs off, timing off) with picked as (
           select q.id from strata.queue_messages q
           where q.queue = $1 and not q.dead and q.visible_at <= date_trunc('milliseconds', statement_timestamp())
           order by q.priority desc nulls last, q.seq limit 100 for update skip locked)
         update strata.queue_messages m set attempt = m.attempt + 1, receipt = gen_random_uuid(),
           visible_at = date_trunc('milliseconds', statement_timestamp()) + 60000 * interval '1 millisecond'
         from picked where m.id = picked.id`,
        [queue],
      );
      const lines = rows.map((r) => r['QUERY PLAN']);
      const scan = lines.findIndex((l) => l.includes('queue_ready_idx'));
      return lines
        .slice(scan, scan + 4)
        .map((l) => l.trim())
        .filter((l) => /Index Scan|Rows Removed|Buffers/.test(l))
        .join('; ');
    } finally {
      await client.query('rollback');
    }
  };
  const rows: string[] = [];
  for (const held of HELD) {
    const queue = `held-${held}`;
    await fill(pgStore, queue);
    await fill(sqliteStore, queue);
    await client.query('vacuum analyze strata.queue_messages');
    const p = await measure(pgStore, queue, held, explain(queue));
    const s = await measure(sqliteStore, queue, held);
    rows.push(`| ${held} | ${p.receive} | ${p.ack} | ${s.receive} | ${s.ack} | ${p.plan} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
  await client.end();
  await pgStore.close();
  await sqliteStore.close();
  console.log(`Claims of 100 with messages held in flight ahead of them (${REPS} claims each, p50 ms)\n`);
  console.log(
    '| held in flight | PostgreSQL receive 100 | PostgreSQL ackMany 100 | SQLite receive 100 | SQLite ackMany 100 | PostgreSQL claim scan (last claim) |',
  );
  console.log('|---:|---:|---:|---:|---:|---|');
  for (const r of rows) console.log(r);
} finally {
  await database.drop();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
