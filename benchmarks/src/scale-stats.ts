// `node --import tsx src/scale-stats.ts`: an A/B, interleaved in one process, of the SQL that was behind
// `queue.stats()` before migration 0004 (one pass over every row of the queue, which the planners make a
// scan of the whole table: the queue indexes are partial) against the split the adapters now use, which
// reads the live rows through the ready index and counts dead letters from the dead-letter index alone,
// on SQLite and on PostgreSQL (started here,
// durable defaults; VACUUM ANALYZE after the load, as autovacuum would). The evidence for that adapter
// change (docs/benchmarks.md, "Cost as data grows"); not part of `pnpm bench:scale`. STATS_ROWS (1e6).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { createTestDatabase, startPostgres } from '@strata/testing';
import Database from 'better-sqlite3';
import pg from 'pg';
import { percentile } from './measure.js';

const ROWS = Math.round(Number(process.env.STATS_ROWS ?? 1e6));
const REPS = 10;
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** packages/sqlite/src/queue.ts, SQL.stats. */
const TODAY = `SELECT
    coalesce(sum(CASE WHEN dead = 0 AND visible_at <= @now THEN 1 ELSE 0 END), 0) AS ready,
    coalesce(sum(CASE WHEN dead = 0 AND visible_at > @now AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0) AS in_flight,
    coalesce(sum(CASE WHEN dead = 0 AND visible_at > @now AND receipt IS NULL THEN 1 ELSE 0 END), 0) AS delayed,
    coalesce(sum(CASE WHEN dead = 1 THEN 1 ELSE 0 END), 0) AS dead,
    min(CASE WHEN dead = 0 AND visible_at <= @now THEN enqueued_at END) AS oldest
  FROM strata_queue_messages WHERE queue = @queue`;

/** The proposal: the same figures, each part from the partial index that holds its rows. */
const SPLIT = `SELECT
    coalesce(sum(CASE WHEN visible_at <= @now THEN 1 ELSE 0 END), 0) AS ready,
    coalesce(sum(CASE WHEN visible_at > @now AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0) AS in_flight,
    coalesce(sum(CASE WHEN visible_at > @now AND receipt IS NULL THEN 1 ELSE 0 END), 0) AS delayed,
    (SELECT count(*) FROM strata_queue_messages WHERE queue = @queue AND dead = 1) AS dead,
    min(CASE WHEN visible_at <= @now THEN enqueued_at END) AS oldest
  FROM strata_queue_messages WHERE queue = @queue AND dead = 0`;

const work = mkdtempSync(join(tmpdir(), 'strata-bench-stats-'));
try {
  const file = join(work, 'stats.db');
  await (await createSqliteStore(file)).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const load = (queue: string, n: number, dead: boolean) =>
    db
      .prepare(`WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ${n - 1})
        INSERT INTO strata_queue_messages (id, queue, body, headers, priority, max_attempts, attempt, visible_at, dead, enqueued_at, dead_lettered_at)
        SELECT lower(hex(randomblob(16))), ?, json_object('i', n), '{}', 0, 5, 0, ${Date.now() - 1000}, ${dead ? 1 : 0}, ${Date.now() - 1000}, ${dead ? Date.now() : 'NULL'} FROM g`)
      .run(queue);
  load('ready', ROWS, false);
  load('dead', ROWS, true);
  load('dead', 10_000, false);
  load('small', 10_000, false);
  console.log(`| queue | today p50 (ms) | split p50 (ms) | plan today | plan split |`);
  console.log('|---|---:|---:|---|---|');
  for (const queue of ['small', 'ready', 'dead']) {
    const params = { queue, now: Date.now() };
    const a = db.prepare(TODAY);
    const b = db.prepare(SPLIT);
    if (JSON.stringify(a.get(params)) !== JSON.stringify(b.get(params))) throw new Error(`${queue}: the two statements disagree`);
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < REPS; i++) {
      for (const [k, s] of [a, b].entries()) {
        const t = now();
        s.get(params);
        times[k as 0 | 1].push(now() - t);
      }
    }
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; ');
    console.log(`| ${queue} | ${percentile(times[0], 50).toFixed(1)} | ${percentile(times[1], 50).toFixed(1)} | ${plan(TODAY)} | ${plan(SPLIT)} |`);
  }
  db.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** packages/postgres/src/queue.ts, stats(). */
const PG_TODAY = `select
    count(*) filter (where not dead and visible_at <= now())::int as ready,
    count(*) filter (where not dead and visible_at > now() and receipt is not null)::int as in_flight,
    count(*) filter (where not dead and visible_at > now() and receipt is null)::int as delayed,
    count(*) filter (where dead)::int as dead,
    round(extract(epoch from (now() - min(enqueued_at) filter (where not dead and visible_at <= now()))) * 1000)::float8 as oldest
  from strata.queue_messages where queue = $1`;
const PG_SPLIT = `select
    count(*) filter (where visible_at <= now())::int as ready,
    count(*) filter (where visible_at > now() and receipt is not null)::int as in_flight,
    count(*) filter (where visible_at > now() and receipt is null)::int as delayed,
    (select count(*)::int from strata.queue_messages d where d.queue = $1 and d.dead) as dead,
    round(extract(epoch from (now() - min(enqueued_at) filter (where visible_at <= now()))) * 1000)::float8 as oldest
  from strata.queue_messages where queue = $1 and not dead`;

const server = await startPostgres({ settings: {} });
try {
  const database = await createTestDatabase(server.url, 'strata_bench_stats');
  await (await createPostgresStore(database.url)).close();
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  const load = (queue: string, n: number, dead: boolean) =>
    c.query(
      `insert into strata.queue_messages (id, queue, body, headers, priority, max_attempts, attempt, visible_at, dead, enqueued_at, dead_lettered_at)
       select gen_random_uuid(), $1, jsonb_build_object('i', g), '{}', 0, 5, 0, now() - interval '1 second', ${dead}, now() - interval '1 second', ${dead ? 'now()' : 'null'}
       from generate_series(1, ${n}) as g`,
      [queue],
    );
  await load('ready', ROWS, false);
  await load('dead', ROWS, true);
  await load('dead', 10_000, false);
  await load('small', 10_000, false);
  // STATS_EXTENDED=1: the planner learns how queue and dead go together (an MCV list over both), without
  // which it takes the live rows of a queue of dead letters for half the queue and scans the table.
  if (process.env.STATS_EXTENDED === '1') await c.query('create statistics strata.queue_messages_queue_dead (mcv) on queue, dead from strata.queue_messages');
  await c.query('vacuum analyze strata.queue_messages');
  console.log(
    [
      '',
      `| PostgreSQL queue${process.env.STATS_EXTENDED === '1' ? ' (extended statistics)' : ''} | today p50 (ms) | split p50 (ms) | split, enable_seqscan off (ms) |`,
      '|---|---:|---:|---:|',
    ].join('\n'),
  );
  /** The split as a function with `SET enable_seqscan = off` would run it (claim_messages' way). */
  const steered = async (queue: string) => {
    await c.query('begin');
    try {
      await c.query('set local enable_seqscan = off');
      return (await c.query(PG_SPLIT, [queue])).rows[0];
    } finally {
      await c.query('commit');
    }
  };
  for (const queue of ['small', 'ready', 'dead']) {
    const a = (await c.query(PG_TODAY, [queue])).rows[0];
    const b = (await c.query(PG_SPLIT, [queue])).rows[0];
    const d = await steered(queue);
    const same = (x: unknown, y: unknown) => JSON.stringify({ ...(x as object), oldest: 0 }) === JSON.stringify({ ...(y as object), oldest: 0 });
    if (!same(a, b) || !same(b, d)) throw new Error(`${queue}: the two statements disagree`);
    const times: [number[], number[], number[]] = [[], [], []];
    for (let i = 0; i < REPS; i++) {
      for (const [k, run] of [() => c.query(PG_TODAY, [queue]), () => c.query(PG_SPLIT, [queue]), () => steered(queue)].entries()) {
        const t = now();
        await run();
        times[k as 0 | 1 | 2].push(now() - t);
      }
    }
    console.log(`| ${queue} | ${times.map((x) => percentile(x, 50).toFixed(1)).join(' | ')} |`);
  }
  for (const queue of ['small', 'dead']) {
    const plan = await c.query(`explain (analyze, buffers) ${PG_SPLIT.replaceAll('$1', `'${queue}'`)}`);
    console.log(['', `split, ${queue}:`, '```', ...plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']), '```'].join('\n'));
  }
  await c.end();
  await database.drop();
} finally {
  await server.stop();
}
