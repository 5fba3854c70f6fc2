// `node --import tsx src/profile-queue.ts [workers]`: where the server's time goes in `pnpm bench`'s
// receive-and-ack workload, Strata against the raw `pg` baseline (impls/raw-sql.ts), with 1 or more
// workers. PostgreSQL is started here with pg_stat_statements (always a server of its own: the module
// must be preloaded); each side drains its own queue of PROFILE_MESSAGES (20,000, in thousands) messages
// in claims of 100, `workers` loops at once, one side after the other, twice (raw first, then Strata
// first: checkpoints and autovacuum fall on both), and the script prints the throughput of each side and,
// per statement, calls, planning and execution time (µs, mean) and WAL bytes per call — with, after the
// drains, 1,000 single sends and 20 sends of 1,000 a side (interleaved), the sends' statements too. Evidence for
// docs/benchmarks.md ("What bounds each Strata figure"); not part of `pnpm bench`.
import { createPostgresStore } from '@strata/postgres';
import { createTestDatabase, startPostgres } from '@strata/testing';
import pg from 'pg';
import { RAW_SQL } from './impls/raw-sql.js';

const WORKERS = Math.max(1, Number(process.argv[2] ?? 1));
const MESSAGES = Math.max(1000, Math.round(Number(process.env.PROFILE_MESSAGES ?? 20_000) / 1000) * 1000);
const server = await startPostgres({
  own: true,
  settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all', 'pg_stat_statements.track_planning': 'on' },
});
const database = await createTestDatabase(server.url, 'strata_profile_queue');
try {
  const pool = new pg.Pool({ connectionString: database.url, max: WORKERS + 2 });
  await pool.query('create extension if not exists pg_stat_statements');
  await pool.query(RAW_SQL.createQueue);
  await pool.query(RAW_SQL.createQueueIndex);
  const store = await createPostgresStore(database.url, { poolSize: WORKERS + 2 });
  const bodies = Array.from({ length: 1000 }, (_, i) => ({ n: i, text: 'a small job' }));
  for (const queue of ['q0', 'q1']) {
    for (let k = 0; k < MESSAGES / 1000; k++) {
      await pool.query(RAW_SQL.sendMany, [queue, JSON.stringify(bodies)]);
      await store.queue.send(
        queue,
        bodies.map((body) => ({ body })),
      );
    }
  }
  await pool.query('vacuum analyze raw_queue');
  await pool.query('vacuum analyze strata.queue_messages');
  await pool.query('select pg_stat_statements_reset()');
  const drain = async (step: () => Promise<number>) => {
    const t = performance.now();
    let n = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        for (;;) {
          const got = await step();
          if (got === 0) return;
          n += got;
        }
      }),
    );
    return Math.round(n / ((performance.now() - t) / 1000));
  };
  const rawSide = (queue: string) =>
    drain(async () => {
      const { rows } = await pool.query(RAW_SQL.claim, [queue, 100]);
      if (rows.length > 0) await pool.query(RAW_SQL.deleteMany, [rows.map((r: { id: string }) => r.id)]);
      return rows.length;
    });
  const strataSide = (queue: string) =>
    drain(async () => {
      const got = await store.queue.receive(queue, { max: 100, visibilityTimeoutMs: 60_000 });
      if (got.length > 0) await store.queue.ackMany(got.map((d) => d.receipt));
      return got.length;
    });
  const raw = [await rawSide('q0')];
  const strata = [await strataSide('q0')];
  strata.push(await strataSide('q1'));
  raw.push(await rawSide('q1'));
  // Sends: one message per call, then 1,000 per call, the two sides interleaved.
  for (let i = 0; i < 1000; i++) {
    await pool.query(RAW_SQL.send, ['s', JSON.stringify({ n: i, text: 'a small job' })]);
    await store.queue.send('s', { body: { n: i, text: 'a small job' } });
  }
  for (let i = 0; i < 20; i++) {
    await pool.query(RAW_SQL.sendMany, ['m', JSON.stringify(bodies)]);
    await store.queue.send(
      'm',
      bodies.map((body) => ({ body })),
    );
  }
  const rates = (xs: number[]) => xs.map((x) => x.toLocaleString('en')).join(' / ');
  console.log(
    `${WORKERS} worker(s), ${MESSAGES.toLocaleString('en')} messages a side and round (raw first, then Strata first): raw pg ${rates(raw)}/s, Strata ${rates(strata)}/s, ratios ${raw.map((r, i) => ((strata[i] ?? 0) / r).toFixed(2)).join(' / ')}\n`,
  );
  const { rows } = await pool.query(
    `select calls::int, round(mean_plan_time::numeric * 1000)::int as plan_us, round(mean_exec_time::numeric * 1000)::int as exec_us,
            (wal_bytes / greatest(calls, 1))::int as wal_bytes, toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) as statement
     from pg_stat_statements where calls >= 20 and query !~* '^(begin|commit|rollback|select pg_stat)' order by calls desc, exec_us desc limit 14`,
  );
  console.log('| calls | plan µs | exec µs | WAL bytes/call | top level | statement |');
  console.log('|---:|---:|---:|---:|---|---|');
  for (const r of rows) console.log(`| ${r.calls} | ${r.plan_us} | ${r.exec_us} | ${r.wal_bytes} | ${r.toplevel} | \`${r.statement}\` |`);
  await store.close();
  await pool.end();
} finally {
  await database.drop();
  await server.stop();
}
