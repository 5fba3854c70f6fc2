// `pnpm bench`: Strata against raw drivers, Emmett and pg-boss, side by side in one run, on one
// PostgreSQL server started here with its durable defaults (fsync and synchronous_commit on).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StrataStore } from '@strata/core';
import { createPgliteStore } from '@strata/pglite';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { createTestDatabase, startPostgres } from '@strata/testing';
import Database from 'better-sqlite3';
import pg from 'pg';
import { freshStoreCosts } from './fresh-stores.js';
import { emmettEvents } from './impls/emmett.js';
import { pgBossQueue } from './impls/pg-boss.js';
import { rawPgConsume, rawPgEvents, rawPgQueue } from './impls/raw-pg.js';
import { rawPglite } from './impls/raw-pglite.js';
import { rawSqliteConsume, rawSqliteEvents, rawSqliteQueue } from './impls/raw-sqlite.js';
import { catchUp, strataConsume, strataEvents, strataQueue } from './impls/strata.js';
import { benchEvent, type ConsumeShape, type ConsumeSubject, type EventSubject, type QueueSubject } from './impls/types.js';
import { drain, merge, percentile, repeated, repeatedFor, type Sample, timed } from './measure.js';
import { realtimeLatency } from './realtime.js';
import { writeReport } from './report.js';
import { type TracingSpread, tracingCost } from './tracing.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const DURATION = Math.round(1500 * scale);
const ROUNDS = 2;
const PAGE_EVENTS = 1000;
// A sample run (BENCH_SCALE < 1, as in CI) loads fewer events; whole pages either way.
const STREAM_EVENTS = Math.max(2, Math.round(10 * Math.min(1, scale))) * PAGE_EVENTS;
const ALL_EVENTS = Math.max(10, Math.round(100 * Math.min(1, scale))) * PAGE_EVENTS;
const n = (count: number) => count.toLocaleString('en');
const RSS_EVENTS = Math.round(1_000_000 * Math.min(1, scale));
const PAGE = PAGE_EVENTS;
/** `BENCH_ONLY=tracing pnpm bench` runs that section alone (its report goes to `results/partial.*`). */
const ONLY = process.env.BENCH_ONLY;
const SECTIONS = ['tracing', 'consume'];
/** Messages of the consume workload (5,000 in a full run), handled `CONSUME_CONCURRENCY` at a time. */
const CONSUME_MESSAGES = Math.max(500, Math.round(5000 * Math.min(1, scale)));
const CONSUME_CONCURRENCY = 4;
/** Messages per claim of the raw consuming loops that are the consume row's baselines. */
const RAW_CONSUME_BATCH = 100;

export interface Result {
  suite: string;
  workload: string;
  implementation: string;
  /** Throughput; `null` for the latency workloads (suite `realtime`, unit `ms`). */
  opsPerSec: number | null;
  p50Ms: number;
  p99Ms: number;
  ratioVsRaw: number | null;
  baseline: string;
  unit: string;
  peakRssMb?: number;
  /** Deliveries timed (latency workloads), operations timed (tracing). */
  samples?: number;
  /** Per-round ratios and the baseline's noise (suite `tracing`). */
  tracing?: TracingSpread;
}

const results: Result[] = [];
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Runs `run` for every subject, `ROUNDS` times, rotating the order each round, and records the merged samples. */
async function compare<S extends { name: string; baseline: string }>(
  suite: string,
  workload: string,
  unit: string,
  subjects: S[],
  run: (s: S, round: number) => Promise<Sample>,
  warmup = false,
) {
  // Read workloads run once untimed first, so that no implementation pays for JIT and cache warm-up.
  if (warmup) for (const s of subjects) await run(s, -1);
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(k + round) % subjects.length] as S;
      const sample = await run(s, round);
      samples.set(s.name, [...(samples.get(s.name) ?? []), sample]);
    }
  }
  const rows = subjects.map((s) => {
    const m = merge(samples.get(s.name) ?? []);
    return { s, opsPerSec: m.ops / (m.ms / 1000), p50: percentile(m.latencies, 50), p99: percentile(m.latencies, 99) };
  });
  for (const r of rows) {
    const base = rows.find((x) => x.s.name === r.s.baseline);
    results.push({
      suite,
      workload,
      implementation: r.s.name,
      opsPerSec: round2(r.opsPerSec),
      p50Ms: round2(r.p50),
      p99Ms: round2(r.p99),
      ratioVsRaw: base === undefined ? null : round2(r.opsPerSec / base.opsPerSec),
      baseline: r.s.baseline,
      unit,
    });
  }
  log(`${workload}: ${rows.map((r) => `${r.s.name} ${Math.round(r.opsPerSec)}`).join(' · ')}`);
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function main() {
  const started = Date.now();
  // The code measured is the code at the start: a commit made while the run goes on must not label it.
  const commit = gitCommit();
  if (ONLY !== undefined && !SECTIONS.includes(ONLY)) throw new Error(`BENCH_ONLY=${ONLY}: the sections that run alone are ${SECTIONS.join(', ')}`);
  log('starting PostgreSQL (durable defaults: fsync and synchronous_commit on)');
  const server = await startPostgres({ settings: {} });
  const work = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const db = async (name: string) => createTestDatabase(server.url, `bench_${name}`);
  const pgVersion = await (async () => {
    const c = new pg.Client(server.url);
    await c.connect();
    const v = (await c.query('show server_version')).rows[0].server_version as string;
    const fsync = (await c.query('show fsync')).rows[0].fsync as string;
    const sync = (await c.query('show synchronous_commit')).rows[0].synchronous_commit as string;
    await c.end();
    return { version: v, fsync, synchronousCommit: sync };
  })();
  const environment = () => ({
    date: new Date().toISOString(),
    node: process.version,
    os: `${platform()} ${release()}`,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: round2(totalmem() / 2 ** 30),
    postgres: pgVersion,
    sqlite: (new Database(':memory:').prepare('select sqlite_version() as v').get() as { v: string }).v,
    durationPerRoundMs: DURATION,
    rounds: ROUNDS,
    scale,
    commit,
    totalSeconds: Math.round((Date.now() - started) / 1000),
    ...(ONLY === undefined ? {} : { only: ONLY }),
  });
  if (ONLY !== undefined) {
    // One section alone: its report goes to results/partial.{json,md}, never over latest.*.
    if (ONLY === 'tracing') results.push(...(await tracingCost(server.url, work, scale, log)));
    if (ONLY === 'consume') {
      const [rawDb, strataDb] = await Promise.all([db('raw'), db('strata')]);
      const stores = {
        pg: await createPostgresStore(strataDb.url),
        pglite: await createPgliteStore(),
        sqlite: await createSqliteStore(join(work, 'strata.db')),
      };
      const rawLite = await rawPglite();
      await consumeWorkload(rawDb.url, work, stores, rawLite.consume, true);
      await Promise.all([...Object.values(stores), rawLite.events, rawLite.queue].map((s) => s.close()));
      await Promise.all([rawDb, strataDb].map((d) => d.drop()));
    }
    await writeReport(results, environment(), 'partial');
    await server.stop();
    rmSync(work, { recursive: true, force: true });
    log(`done in ${Math.round((Date.now() - started) / 1000)} s (BENCH_ONLY=${ONLY}: results/partial.md)`);
    return;
  }
  const [rawDb, strataDb, emmettDb, bossDb] = await Promise.all([db('raw'), db('strata'), db('emmett'), db('boss')]);

  const strataPg = await createPostgresStore(strataDb.url, { readPageSize: PAGE });
  const strataPglite = await createPgliteStore({ readPageSize: PAGE });
  const strataSqlite = await createSqliteStore(join(work, 'strata.db'), { readPageSize: PAGE });

  const rawLite = await rawPglite();

  const eventSubjects: EventSubject[] = [
    await rawPgEvents(rawDb.url),
    strataEvents('strata postgres', 'raw pg', strataPg),
    rawLite.events,
    strataEvents('strata pglite', 'raw pglite', strataPglite),
    await emmettEvents(emmettDb.url),
    rawSqliteEvents(join(work, 'raw.db')),
    strataEvents('strata sqlite', 'raw better-sqlite3', strataSqlite),
  ];
  const queueSubjects: QueueSubject[] = [
    await rawPgQueue(rawDb.url),
    strataQueue('strata postgres', 'raw pg', strataPg),
    rawLite.queue,
    strataQueue('strata pglite', 'raw pglite', strataPglite),
    await pgBossQueue(bossDb.url),
    rawSqliteQueue(join(work, 'raw-queue.db')),
    strataQueue('strata sqlite', 'raw better-sqlite3', strataSqlite),
  ];

  // Read workloads first, on 100,000 events (full run): one stream of 10,000 and 90 streams of 1,000.
  for (const s of eventSubjects) {
    const t = Date.now();
    for (let b = 0; b < STREAM_EVENTS / PAGE; b++)
      await s.append(
        'big',
        Array.from({ length: PAGE }, (_, i) => benchEvent(b * PAGE + i)),
        b * PAGE,
      );
    for (let k = 0; k < (ALL_EVENTS - STREAM_EVENTS) / PAGE; k++)
      await s.append(
        `load-${k}`,
        Array.from({ length: PAGE }, (_, i) => benchEvent(i)),
        0,
      );
    log(`loaded ${ALL_EVENTS} events into ${s.name} in ${Date.now() - t} ms`);
  }
  await compare('events', `read a ${n(STREAM_EVENTS)}-event stream`, 'events/s', eventSubjects, (s) => repeatedFor(DURATION, () => s.readStream('big')), true);
  await compare(
    'events',
    `read all ${n(ALL_EVENTS)} events in pages of ${n(PAGE)}`,
    'events/s',
    eventSubjects,
    (s) => repeatedFor(DURATION, () => s.readAll(PAGE)),
    true,
  );
  // Emmett catches up at about 2,000–5,000 events/s here: it is timed over the first fifth of the events
  // (a rate, like the others), which keeps the whole run under ten minutes.
  await compare('events', `subscription catch-up over ${n(ALL_EVENTS)} events`, 'events/s', eventSubjects, (s) =>
    repeated(1, () => s.catchUp(s.name === 'emmett' ? ALL_EVENTS / 5 : ALL_EVENTS, PAGE)),
  );
  // A named consumer commits its checkpoint (on these stores, in one transaction per batch) where a
  // plain subscription commits nothing: the ratio is to the plain subscription on the same store.
  const consumerSubjects = [
    ['strata postgres', strataPg],
    ['strata pglite', strataPglite],
    ['strata sqlite', strataSqlite],
  ].flatMap(([name, store]) => {
    const plain = `${name as string}, from start`;
    return [
      { name: plain, baseline: plain, run: () => catchUp(store as StrataStore, ALL_EVENTS, PAGE) },
      {
        name: `${name as string}, named consumer`,
        baseline: plain,
        run: () => catchUp(store as StrataStore, ALL_EVENTS, PAGE, `bench-${Date.now()}-${Math.random()}`),
      },
    ];
  });
  await compare('events', `named-consumer catch-up over ${n(ALL_EVENTS)} events (vs a plain subscription)`, 'events/s', consumerSubjects, (s) =>
    repeated(1, s.run),
  );

  // Write workloads: distinct streams per implementation, round and caller.
  await compare('events', 'append 1 event per transaction, 1 caller', 'appends/s', eventSubjects, (s, round) => {
    let v = 0;
    return timed(DURATION, 1, async () => {
      await s.append(`one-${round}`, [benchEvent(v)], v++);
      return 1;
    });
  });
  await compare('events', 'append 1 event per transaction, 8 callers on distinct streams', 'appends/s', eventSubjects, (s, round) => {
    const v = new Array<number>(8).fill(0);
    return timed(DURATION, 8, async (caller) => {
      const version = v[caller] ?? 0;
      v[caller] = version + 1;
      await s.append(`eight-${round}-${caller}`, [benchEvent(version)], version);
      return 1;
    });
  });
  await compare('events', 'append 100 events in one call', 'appends/s', eventSubjects, (s, round) => {
    let v = 0;
    return timed(DURATION, 1, async () => {
      await s.append(
        `hundred-${round}`,
        Array.from({ length: 100 }, (_, i) => benchEvent(v + i)),
        v,
      );
      v += 100;
      return 1;
    });
  });

  // Queue workloads.
  await compare('queue', 'send one message', 'messages/s', queueSubjects, (s, round) =>
    timed(DURATION, 1, async () => {
      await s.send(`send-one-${round}`, { n: 1, text: 'a small job' });
      return 1;
    }),
  );
  const thousand = Array.from({ length: 1000 }, (_, i) => ({ n: i, text: 'a small job' }));
  await compare('queue', 'send 1,000 messages per call', 'messages/s', queueSubjects, (s, round) =>
    timed(DURATION, 1, async () => {
      await s.sendMany(`send-many-${round}`, thousand);
      return 1000;
    }),
  );
  for (const workers of [1, 4]) {
    await compare('queue', `receive and ack in batches of 100, ${workers} worker${workers > 1 ? 's' : ''}`, 'messages/s', queueSubjects, async (s, round) => {
      const queue = `drain-${workers}-${round}`;
      for (let i = 0; i < 5; i++) await s.sendMany(queue, thousand);
      return drain(workers, () => s.receiveAndAck(queue, 100));
    });
  }

  // PGlite's consume row is left to the section run alone (BENCH_ONLY=consume): about 30 s a round at
  // load 15–20. The raw loops use the raw queues' tables, which hold the send workloads' messages as the
  // Strata stores do.
  await consumeWorkload(rawDb.url, work, { pg: strataPg, sqlite: strataSqlite }, undefined, false);

  for (const s of [
    ...eventSubjects,
    ...queueSubjects.filter((q) => q.name === 'raw pg' || q.name === 'raw pglite' || q.name === 'pg-boss' || q.name === 'raw better-sqlite3'),
  ])
    await s.close();

  // Realtime: commit-to-handler and pick-up latency through LISTEN/NOTIFY (the ratio is of p50 latencies:
  // lower is better).
  const latency = await realtimeLatency(rawDb.url, strataDb.url, bossDb.url, scale, ROUNDS, log);
  for (const r of latency) {
    const p50 = percentile(r.latencies, 50);
    const base = latency.find((x) => x.workload === r.workload && x.implementation === r.baseline);
    results.push({
      suite: 'realtime',
      workload: r.workload,
      implementation: r.implementation,
      opsPerSec: null,
      p50Ms: round2(p50),
      p99Ms: round2(percentile(r.latencies, 99)),
      ratioVsRaw: base === undefined ? null : round2(p50 / percentile(base.latencies, 50)),
      baseline: r.baseline,
      unit: 'ms',
      samples: r.latencies.length,
    });
  }
  log(
    `realtime: ${results
      .filter((r) => r.suite === 'realtime')
      .map((r) => `${r.implementation} p50 ${r.p50Ms} ms`)
      .join(' · ')}`,
  );

  await memory(strataDb.url, rawDb.url, work);

  results.push(...(await freshStoreCosts(server.url, scale, log)));

  results.push(...(await tracingCost(server.url, work, scale, log)));

  await writeReport(results, environment());
  await Promise.all([rawDb, strataDb, emmettDb, bossDb].map((d) => d.drop()));
  await server.stop();
  rmSync(work, { recursive: true, force: true });
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * `consume()` end to end: `CONSUME_MESSAGES` messages sent untimed, then timed from the consumer's start
 * until every message was handled and acked and the consumer has stopped; with a no-op handler,
 * `CONSUME_CONCURRENCY` at a time, `consume()`'s other options at their defaults. Next to each store, a
 * raw loop of its family with claims of `RAW_CONSUME_BATCH` (the baseline), and one in the shape a
 * no-op handler gives `consume()` (one loop claiming up to `CONSUME_CONCURRENCY` at a time, the handlers
 * finishing in one turn, so one delete per claim). With `detail` (the section run alone), also PGlite, which a full run
 * leaves out for time.
 */
async function consumeWorkload(
  rawUrl: string,
  work: string,
  stores: { pg: StrataStore; sqlite: StrataStore; pglite?: StrataStore },
  rawLiteConsume: ((name: string, shape: ConsumeShape) => Promise<ConsumeSubject>) | undefined,
  detail: boolean,
) {
  const batched: ConsumeShape = { claim: RAW_CONSUME_BATCH, deleteEach: false };
  // consume() at concurrency N with handlers that finish together: one chain of receives of N, each
  // group acked in one call; so one loop claiming N and deleting them in one statement.
  const shaped: ConsumeShape = { claim: CONSUME_CONCURRENCY, deleteEach: false, workers: 1 };
  const asConsume = `one loop, claims of ${CONSUME_CONCURRENCY}`;
  const subjects: ConsumeSubject[] = [
    await rawPgConsume(rawUrl, 'raw pg', 'raw pg', batched),
    await rawPgConsume(rawUrl, `raw pg, ${asConsume}`, 'raw pg', shaped),
    strataConsume('strata postgres', 'raw pg', stores.pg),
  ];
  if (stores.pglite !== undefined && rawLiteConsume !== undefined)
    subjects.push(
      await rawLiteConsume('raw pglite', batched),
      ...(detail ? [await rawLiteConsume(`raw pglite, ${asConsume}`, shaped)] : []),
      strataConsume('strata pglite', 'raw pglite', stores.pglite),
    );
  subjects.push(
    rawSqliteConsume(join(work, 'raw-queue.db'), 'raw better-sqlite3', 'raw better-sqlite3', batched),
    rawSqliteConsume(join(work, 'raw-queue.db'), `raw better-sqlite3, ${asConsume}`, 'raw better-sqlite3', shaped),
    strataConsume('strata sqlite', 'raw better-sqlite3', stores.sqlite),
  );
  const bodies = Array.from({ length: CONSUME_MESSAGES }, (_, i) => ({ n: i, text: 'a small job' }));
  await compare(
    'queue',
    `consume ${n(CONSUME_MESSAGES)} messages, concurrency ${CONSUME_CONCURRENCY}, no-op handler`,
    'messages/s',
    subjects,
    async (s, round) => {
      const queue = `consume-${round}-${s.name.replace(/[^a-z0-9]+/g, '-')}`;
      for (let i = 0; i < bodies.length; i += 1000) await s.fill(queue, bodies.slice(i, i + 1000));
      const t = performance.now();
      const handled = await s.consumeAll(queue, CONSUME_MESSAGES, CONSUME_CONCURRENCY);
      const ms = performance.now() - t;
      if (handled !== CONSUME_MESSAGES) throw new Error(`${s.name} handled ${handled} of ${CONSUME_MESSAGES} messages`);
      return { ops: handled, ms, latencies: [ms] };
    },
  );
  for (const s of subjects) await s.close();
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    // A run of uncommitted code says so: its figures belong to no commit.
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)benchmarks/results'], {
        encoding: 'utf8',
      }).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Peak RSS of a process reading 1,000,000 events through readAll, measured in a fresh child process each. */
async function memory(strataUrl: string, rawUrl: string, work: string) {
  log(`loading ${RSS_EVENTS} events for the memory workload`);
  const store = await createPostgresStore(strataUrl, { schema: 'rss', poolSize: 1 });
  await store.close();
  const strata = new pg.Client(strataUrl);
  await strata.connect();
  await strata.query(`insert into rss.events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
    select pg_current_xact_id()::text::bigint * 1048576 + g, pg_current_xact_id(), 'stream-' || (g % 1000), g / 1000 + 1, gen_random_uuid(),
           'OrderLineAdded', 1, jsonb_build_object('i', g, 'text', 'line ' || g || ' of an order, with some text'), '{}'::jsonb, now()
    from generate_series(0, ${RSS_EVENTS - 1}) as g`);
  await strata.end();
  const raw = new pg.Client(rawUrl);
  await raw.connect();
  await raw.query(`create table raw_rss_events as
    select g::bigint as position, 'stream-' || (g % 1000) as stream_id, g / 1000 + 1 as version, 'OrderLineAdded' as type,
           jsonb_build_object('i', g, 'text', 'line ' || g || ' of an order, with some text') as data, now() as recorded_at
    from generate_series(1, ${RSS_EVENTS}) as g`);
  await raw.query('alter table raw_rss_events add primary key (position)');
  await raw.end();
  const sqliteFile = join(work, 'rss.db');
  const sqlite = await createSqliteStore(sqliteFile, { synchronous: 'normal' });
  sqlite.client.exec(`WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ${RSS_EVENTS - 1})
    INSERT INTO strata_events (stream_id, version, event_id, type, schema_version, data, metadata, correlation_id, recorded_at)
    SELECT 'stream-' || (n % 1000), n / 1000 + 1, lower(hex(randomblob(16))), 'OrderLineAdded', 1,
           json_object('i', n, 'text', 'line ' || n || ' of an order, with some text'), '{}', NULL, 0 FROM g`);
  await sqlite.close();

  const child = fileURLToPath(new URL('rss-child.mjs', import.meta.url));
  const runs: [string, string, string, string][] = [
    ['raw pg', 'raw-pg', rawUrl, ''],
    ['strata postgres', 'strata-postgres', strataUrl, 'rss'],
    ['strata sqlite', 'strata-sqlite', sqliteFile, ''],
  ];
  const measured: { name: string; events: number; ms: number; peakRssMb: number }[] = [];
  for (const [name, kind, target, schema] of runs) {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [child, kind, target, schema], {
        stdio: ['ignore', 'pipe', 'inherit'],
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${name} memory run exited with ${code}`))));
    });
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { events: number; ms: number; peakRssMb: number };
    if (r.events !== RSS_EVENTS) throw new Error(`${name} read ${r.events} events, expected ${RSS_EVENTS}`);
    measured.push({ name, ...r });
    log(`peak RSS reading ${RSS_EVENTS} events: ${name} ${Math.round(r.peakRssMb)} MB in ${Math.round(r.ms)} ms`);
  }
  for (const m of measured) {
    const base = measured.find((x) => x.name === 'raw pg');
    results.push({
      suite: 'memory',
      workload: `read ${RSS_EVENTS.toLocaleString('en')} events through readAll (peak RSS)`,
      implementation: m.name,
      opsPerSec: round2(m.events / (m.ms / 1000)),
      p50Ms: round2(m.ms),
      p99Ms: round2(m.ms),
      ratioVsRaw: base === undefined ? null : round2(m.events / m.ms / (base.events / base.ms)),
      baseline: 'raw pg',
      unit: 'events/s',
      peakRssMb: round2(m.peakRssMb),
    });
  }
}

await main();
process.exit(0);
