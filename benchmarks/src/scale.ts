// `pnpm bench:scale`: what Strata's operations cost as the data grows. The event tables grow through
// SCALE_SIZES (default 1e6,1e7,5e7 stored events; BENCH_SCALE < 1 scales them down for a sample), loaded
// by bulk SQL into Strata's own tables (rows exactly as the adapters store them; every step drops the event
// table's secondary indexes and builds them again after, as a restore would, so that the 50-million step
// loads in minutes rather than hours and every size is measured on indexes made the same way: the same
// definitions, checked, but freshly packed where a long-lived store's would have split pages), and at each
// size appends, stream reads, read-all windows, streamInfo and headPosition are timed through the
// public API. Then the queue: claims with a small queue, with 1,000,000 ready messages and with 1,000,000
// dead letters. PostgreSQL (started here, durable defaults) and a SQLite file (Strata's defaults: WAL,
// synchronous FULL). Writes results/scale.{json,md,svg} (results/scale-sample.* for BENCH_SCALE < 1).
// Other knobs: SCALE_ADAPTERS=postgres,sqlite; SCALE_QUEUE (large queue size, default 1e6); SCALE_OUT (file name).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEAD_LETTER_REASONS, type StrataStore } from '@strata/core';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { createTestDatabase, startPostgres } from '@strata/testing';
import Database from 'better-sqlite3';
import pg from 'pg';
import { percentile } from './measure.js';
import { type ScaleReport, writeScaleReport } from './scale-report.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const PER_STREAM = 10;
const CHUNK = 500_000; // events per load transaction (PostgreSQL positions allow 2^20 per transaction)
const sample = scale < 1;
const SIZES = (process.env.SCALE_SIZES ?? '1e6,1e7,5e7')
  .split(',')
  .map((s) => Math.max(1000, Math.round((Number(s) * Math.min(1, scale)) / PER_STREAM) * PER_STREAM));
const ADAPTERS = (process.env.SCALE_ADAPTERS ?? 'postgres,sqlite').split(',') as Adapter[];
const CALLS = sample ? 40 : 200;
const WINDOW_MAX = 100_000;
const SMALL_QUEUE_NAME = 'scale-small';
const SMALL_QUEUE = Math.max(2000, Math.round(10_000 * Math.min(1, scale * 10)));
const BIG_QUEUE = Math.max(SMALL_QUEUE, Math.round(Number(process.env.SCALE_QUEUE ?? 1_000_000) * Math.min(1, scale)));
/** The results' file name (results/<OUT>.{json,md,svg}); samples default to scale-sample, which git ignores. */
const OUT = process.env.SCALE_OUT ?? (sample ? 'scale-sample' : 'scale');
if (!/^[\w-]+$/.test(OUT)) throw new Error(`SCALE_OUT must be a plain file name, got ${OUT}`);
const log = (s: string) => process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const round2 = (x: number) => Math.round(x * 100) / 100;

type Adapter = 'postgres' | 'sqlite';

for (const [i, s] of SIZES.entries()) {
  if (!Number.isFinite(s) || (i > 0 && s <= (SIZES[i - 1] ?? 0))) throw new Error(`SCALE_SIZES must be increasing numbers, got ${process.env.SCALE_SIZES}`);
}
for (const a of ADAPTERS) if (a !== 'postgres' && a !== 'sqlite') throw new Error(`SCALE_ADAPTERS: unknown adapter ${a}`);

/** One timed operation at one size: latency percentiles, or a throughput for the read-all windows. */
export interface OpResult {
  adapter: Adapter;
  /** Stored events when measured (event operations) or the queue scenario (queue operations). */
  size: number;
  scenario?: string;
  op: string;
  calls: number;
  p50Ms: number;
  p99Ms: number;
  /** Read-all windows: events per second (median of the repetitions). */
  eventsPerSec?: number;
}

/** One bulk-load step. */
export interface LoadStep {
  adapter: Adapter;
  what: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  analyzeSeconds?: number;
  /** CHECKPOINT / wal_checkpoint(TRUNCATE) after the step. */
  checkpointSeconds?: number;
  /** Event steps: building the event table's secondary indexes again after the load (not in `seconds`). */
  indexSeconds?: number;
  /** Database size on disk after the step (PostgreSQL: pg_database_size; SQLite: file + WAL). */
  dbMb: number;
}

/** What a bulk loader and the plan capture need from one adapter. */
interface Backend {
  adapter: Adapter;
  store: StrataStore;
  /** Loads events [from, to) of the synthetic history (whole streams of PER_STREAM events). */
  loadEvents(from: number, to: number): Promise<void>;
  /** The definitions of the event table's secondary indexes. */
  eventIndexes(): Promise<string[]>;
  /** Drops the event table's secondary indexes; returns what creates them again. */
  dropEventIndexes(): Promise<string[]>;
  /** Runs what dropEventIndexes returned; seconds taken. */
  createIndexes(definitions: string[]): Promise<number>;
  analyze(): Promise<number | undefined>;
  /**
   * Writes the loaded pages out (PostgreSQL CHECKPOINT, SQLite wal_checkpoint(TRUNCATE)), as a server that
   * had accumulated this data over time would long have done: otherwise the first minutes of measurements
   * share the disk with the flushing of the bulk load and every commit looks slower. Seconds taken.
   */
  settle(): Promise<number | undefined>;
  /** The position after which the last `n` stored events follow. */
  positionBeforeLast(n: number): Promise<bigint>;
  storedEvents(): Promise<number>;
  loadMessages(queue: string, n: number, dead: boolean): Promise<void>;
  eventPlans(streamId: string, after: bigint): Promise<{ statement: string; plan: string }[]>;
  queuePlans(queue: string): Promise<{ statement: string; plan: string }[]>;
  sizeMb(): number | Promise<number>;
  close(): Promise<void>;
}

/**
 * Event ids as the store makes them when the caller gives none: UUIDv7, 48 bits of Unix milliseconds first.
 * The synthetic history has one event per millisecond from HISTORY_START, so ids grow with positions and
 * the event-id index grows at its right edge, as it does under Strata's own appends.
 */
const HISTORY_START = 1_600_000_000_000;
const pgUuidV7 = (n: string) =>
  `(lpad(to_hex(${HISTORY_START}::bigint + ${n}), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || 'a' || substr(md5(random()::text), 1, 15))::uuid`;

const pgEventRows = (from: number, to: number) => `
  insert into strata.events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
  select pg_current_xact_id()::text::bigint * 1048576 + (g - ${from} + 1), pg_current_xact_id(), 'load-' || (g / ${PER_STREAM}), g % ${PER_STREAM} + 1,
         ${pgUuidV7('g')}, case when g % ${PER_STREAM} = 0 then 'OrderPlaced' else 'OrderLineAdded' end, 1,
         jsonb_build_object('i', g, 'text', 'line ' || g || ' of an order, with some text', 'amount', g * 0.25),
         jsonb_build_object('correlationId', 'c-' || (g / ${PER_STREAM})), date_trunc('milliseconds', now())
  from generate_series(${from}, ${to - 1}) as g`;

const pgStreamRows = (from: number, to: number) => `
  insert into strata.streams (stream_id, version, created_at, updated_at)
  select 'load-' || k, ${PER_STREAM}, date_trunc('milliseconds', now()), date_trunc('milliseconds', now())
  from generate_series(${from / PER_STREAM}, ${to / PER_STREAM - 1}) as k`;

/** The statements the PostgreSQL adapter runs (packages/postgres/src/events.ts, queue.ts, drizzle/*.sql), parameters filled. */
const PG_SAFE = '(transaction_id < pg_snapshot_xmin(pg_current_snapshot()) or transaction_id = pg_current_xact_id_if_assigned())';
const PG_COLUMNS = `position::text as p, stream_id as s, version as v, event_id::text as id, type, schema_version as sv, data, metadata, (extract(epoch from recorded_at) * 1000)::float8 as at`;

async function postgresBackend(url: string): Promise<Backend> {
  const store = await createPostgresStore(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const explain = async (statement: string, setup: string[] = []) => {
    await client.query('begin');
    try {
      for (const s of setup) await client.query(s);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${statement}`);
      return { statement: statement.replace(/\s+/g, ' ').trim(), plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
    } finally {
      await client.query('rollback');
    }
  };
  const pgEventIndexes = async () =>
    (
      await client.query<{ name: string; definition: string }>(
        `select indexname as name, indexdef as definition from pg_indexes where schemaname = 'strata' and tablename = 'events' and indexname <> 'events_pkey' order by indexname`,
      )
    ).rows;
  return {
    adapter: 'postgres',
    store,
    async loadEvents(from, to) {
      await client.query('begin');
      await client.query(pgEventRows(from, to));
      await client.query(pgStreamRows(from, to));
      await client.query('commit');
    },
    async eventIndexes() {
      return (await pgEventIndexes()).map((r) => r.definition);
    },
    async dropEventIndexes() {
      const rows = await pgEventIndexes();
      for (const r of rows) await client.query(`drop index strata."${r.name}"`);
      return rows.map((r) => r.definition);
    },
    async createIndexes(definitions) {
      const t = now();
      // A session setting of the loader's connection only: room to sort in memory.
      await client.query(`set maintenance_work_mem = '1GB'`);
      for (const d of definitions) await client.query(d);
      await client.query('reset maintenance_work_mem');
      return (now() - t) / 1000;
    },
    async analyze() {
      const t = now();
      await client.query('analyze strata.events, strata.streams, strata.queue_messages');
      return (now() - t) / 1000;
    },
    async settle() {
      const t = now();
      try {
        await client.query('checkpoint');
      } catch {
        return undefined; // not a superuser (an external DATABASE_URL): the server checkpoints on its own schedule
      }
      return (now() - t) / 1000;
    },
    async positionBeforeLast(n) {
      const { rows } = await client.query<{ p: string }>(`select position::text as p from strata.events order by position desc offset ${n} limit 1`);
      return BigInt(rows[0]?.p ?? '0');
    },
    async storedEvents() {
      // Exact: a count of the primary key (only between steps, untimed).
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from strata.events');
      return rows[0]?.n ?? 0;
    },
    async loadMessages(queue, n, dead) {
      for (let from = 0; from < n; from += CHUNK) {
        const to = Math.min(n, from + CHUNK);
        await client.query(
          `insert into strata.queue_messages (id, queue, body, headers, priority, max_attempts, attempt, visible_at, dead, reason, enqueued_at, dead_lettered_at)
           select gen_random_uuid(), $1, jsonb_build_object('i', g, 'text', 'message ' || g || ' of the scale benchmark'), '{}'::jsonb, 0, 5,
                  ${dead ? 5 : 0}, date_trunc('milliseconds', now()) - interval '1 second', ${dead}, ${dead ? '$2' : 'null'},
                  date_trunc('milliseconds', now()) - interval '1 second', ${dead ? "date_trunc('milliseconds', now())" : 'null'}
           from generate_series(${from}, ${to - 1}) as g`,
          dead ? [queue, DEAD_LETTER_REASONS.attemptsExhausted] : [queue],
        );
      }
    },
    async eventPlans(streamId, after) {
      const payload = JSON.stringify([{ id: null, type: 'OrderLineAdded', schemaVersion: 1, data: { i: 1 }, metadata: {} }]).replaceAll("'", "''");
      return [
        await explain(`select ${PG_COLUMNS} from strata.events where stream_id = '${streamId}' and version >= 1 and version <= 500 order by version asc`),
        await explain(`select ${PG_COLUMNS} from strata.events where position > 0::bigint and ${PG_SAFE} order by position limit 500`),
        await explain(`select ${PG_COLUMNS} from strata.events where position > ${after}::bigint and ${PG_SAFE} order by position limit 500`),
        await explain(`select coalesce(max(position), 0)::text as h from strata.events where ${PG_SAFE}`),
        await explain(`select version::text as v from strata.streams where stream_id = '${streamId}'`),
        // append_events, fresh ids, expected version given: its two writes (a function's statements do not show in EXPLAIN).
        await explain(
          `update strata.streams s set version = s.version + 1, updated_at = now() where s.stream_id = '${streamId}' and (false or s.version = ${PER_STREAM}) returning s.version`,
        ),
        await explain(`insert into strata.events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
            select pg_current_xact_id()::text::bigint * 1048576 + i.ord, pg_current_xact_id(), '${streamId}', ${PER_STREAM} + i.ord, gen_random_uuid(), i.x->>'type',
                   (i.x->>'schemaVersion')::integer, i.x->'data', i.x->'metadata', now()
            from jsonb_array_elements('${payload}'::jsonb) with ordinality as i(x, ord)`),
      ];
    },
    async queuePlans(queue) {
      const receipts = `{${Array.from({ length: 100 }, () => crypto.randomUUID()).join(',')}}`;
      return [
        // claim_messages (drizzle/0002_claim_function.sql) with the function's planner settings, max 100.
        await explain(
          `with picked as (
             select q.id from strata.queue_messages q
             where q.queue = '${queue}' and not q.dead and q.visible_at <= date_trunc('milliseconds', statement_timestamp())
             order by q.priority desc nulls last, q.seq limit 100 for update skip locked)
           update strata.queue_messages m set attempt = m.attempt + 1, receipt = gen_random_uuid(),
             visible_at = date_trunc('milliseconds', statement_timestamp()) + 60000 * interval '1 millisecond'
           from picked where m.id = picked.id returning m.id`,
          ['set local enable_bitmapscan = off', 'set local enable_sort = off'],
        ),
        await explain(
          `delete from strata.queue_messages where receipt = any('${receipts}'::uuid[]) and not dead and visible_at > date_trunc('milliseconds', statement_timestamp()) returning receipt::text as receipt`,
        ),
        // queue_stats (drizzle/0004_queue_stats.sql) with the function's setting: the live rows through the
        // ready index, the dead letters through the dead-letter index.
        await explain(
          `select live.ready, live.in_flight, live.delayed, gone.dead, live.oldest from (
             select count(*) filter (where q.visible_at <= date_trunc('milliseconds', statement_timestamp()))::integer as ready,
                    count(*) filter (where q.visible_at > date_trunc('milliseconds', statement_timestamp()) and q.receipt is not null)::integer as in_flight,
                    count(*) filter (where q.visible_at > date_trunc('milliseconds', statement_timestamp()) and q.receipt is null)::integer as delayed,
                    round(extract(epoch from (date_trunc('milliseconds', statement_timestamp())
                      - min(q.enqueued_at) filter (where q.visible_at <= date_trunc('milliseconds', statement_timestamp())))) * 1000)::double precision as oldest
             from strata.queue_messages q where q.queue = '${queue}' and not q.dead) as live,
           (select count(*)::integer as dead from strata.queue_messages q where q.queue = '${queue}' and q.dead) as gone`,
          ['set local enable_seqscan = off'],
        ),
      ];
    },
    async sizeMb() {
      const { rows } = await client.query<{ b: string }>('select pg_database_size(current_database())::text as b');
      return Math.round(Number(rows[0]?.b ?? 0) / 2 ** 20);
    },
    async close() {
      await client.end();
      await store.close();
    },
  };
}

const SQLITE_COLUMNS = `CAST(position AS TEXT) AS p, stream_id AS s, version AS v, event_id AS id, type, schema_version AS sv, data, metadata, recorded_at AS at`;
const SQLITE_UUID = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;
/** UUIDv7 text of the synthetic event `n` (see HISTORY_START). */
const sqliteUuidV7 = (n: string) =>
  `lower(substr(printf('%012x', ${HISTORY_START} + ${n}), 1, 8) || '-' || substr(printf('%012x', ${HISTORY_START} + ${n}), 9, 4) || '-7' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

async function sqliteBackend(file: string): Promise<Backend> {
  const store = await createSqliteStore(file);
  // The loader writes through a connection of its own (same WAL file, synchronous FULL) with a large page
  // cache, so that the random inserts into the event-id index do not crawl; the store's connection is untouched.
  const loader = new Database(file);
  loader.pragma('journal_mode = WAL');
  loader.pragma('synchronous = FULL');
  loader.pragma('cache_size = -1000000');
  const plan = (statement: string, ...params: unknown[]) => ({
    statement,
    plan: (loader.prepare(`EXPLAIN QUERY PLAN ${statement}`).all(...params) as { id: number; parent: number; detail: string }[])
      .map((r) => `${r.parent === 0 ? '' : '  '}${r.detail}`)
      .join('\n'),
  });
  const sqliteEventIndexes = () =>
    loader.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'strata_events' AND sql IS NOT NULL ORDER BY name`).all() as {
      name: string;
      sql: string;
    }[];
  return {
    adapter: 'sqlite',
    store,
    async loadEvents(from, to) {
      const at = Date.now();
      loader
        .transaction(() => {
          loader.exec(`WITH RECURSIVE g(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM g WHERE n < ${to - 1})
          INSERT INTO strata_events (stream_id, version, event_id, type, schema_version, data, metadata, correlation_id, recorded_at)
          SELECT 'load-' || (n / ${PER_STREAM}), n % ${PER_STREAM} + 1, ${sqliteUuidV7('n')}, CASE WHEN n % ${PER_STREAM} = 0 THEN 'OrderPlaced' ELSE 'OrderLineAdded' END, 1,
                 json_object('i', n, 'text', 'line ' || n || ' of an order, with some text', 'amount', n * 0.25),
                 json_object('correlationId', 'c-' || (n / ${PER_STREAM})), 'c-' || (n / ${PER_STREAM}), ${at} FROM g`);
          loader.exec(`WITH RECURSIVE k(n) AS (SELECT ${from / PER_STREAM} UNION ALL SELECT n + 1 FROM k WHERE n < ${to / PER_STREAM - 1})
          INSERT INTO strata_streams (stream_id, version, created_at, updated_at) SELECT 'load-' || n, ${PER_STREAM}, ${at}, ${at} FROM k`);
        })
        .immediate();
    },
    async eventIndexes() {
      return sqliteEventIndexes().map((r) => r.sql);
    },
    async dropEventIndexes() {
      const rows = sqliteEventIndexes();
      for (const r of rows) loader.exec(`DROP INDEX "${r.name}"`);
      return rows.map((r) => r.sql);
    },
    async createIndexes(definitions) {
      const t = now();
      for (const d of definitions) loader.exec(d);
      return (now() - t) / 1000;
    },
    async analyze() {
      return undefined; // Strata runs no ANALYZE on SQLite, and neither does anything else: none here.
    },
    async settle() {
      const t = now();
      loader.pragma('wal_checkpoint(TRUNCATE)');
      return (now() - t) / 1000;
    },
    async positionBeforeLast(n) {
      const row = loader.prepare(`SELECT CAST(position AS TEXT) AS p FROM strata_events ORDER BY position DESC LIMIT 1 OFFSET ${n}`).get() as
        | { p: string }
        | undefined;
      return BigInt(row?.p ?? '0');
    },
    async storedEvents() {
      return (loader.prepare('SELECT count(*) AS n FROM strata_events').get() as { n: number }).n;
    },
    async loadMessages(queue, n, dead) {
      const at = Date.now() - 1000;
      for (let from = 0; from < n; from += CHUNK) {
        const to = Math.min(n, from + CHUNK);
        loader
          .prepare(`WITH RECURSIVE g(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM g WHERE n < ${to - 1})
            INSERT INTO strata_queue_messages (id, queue, body, headers, priority, max_attempts, dedup_id, attempt, visible_at, receipt, dead, reason, enqueued_at, dead_lettered_at)
            SELECT ${SQLITE_UUID}, ?, json_object('i', n, 'text', 'message ' || n || ' of the scale benchmark'), '{}', 0, 5, NULL, ${dead ? 5 : 0}, ${at}, NULL, ${dead ? 1 : 0}, ?, ${at}, ${dead ? at : 'NULL'} FROM g`)
          .run(queue, dead ? DEAD_LETTER_REASONS.attemptsExhausted : null);
      }
    },
    async eventPlans(streamId, after) {
      // The statements of packages/sqlite/src/events.ts.
      return [
        plan(
          `SELECT ${SQLITE_COLUMNS} FROM strata_events WHERE stream_id = ? AND version >= ? AND version <= ? ORDER BY version LIMIT ?`,
          streamId,
          1,
          500,
          500,
        ),
        plan(`SELECT ${SQLITE_COLUMNS} FROM strata_events WHERE position > ? ORDER BY position LIMIT ?`, after, 500),
        plan('SELECT CAST(coalesce(max(position), 0) AS TEXT) AS h FROM strata_events'),
        plan('SELECT version, created_at, updated_at FROM strata_streams WHERE stream_id = ?', streamId),
        plan('SELECT version, created_at FROM strata_streams WHERE stream_id = ?', streamId),
        plan(
          'INSERT INTO strata_events (stream_id, version, event_id, type, schema_version, data, metadata, correlation_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          streamId,
          11,
          crypto.randomUUID(),
          'T',
          1,
          '{}',
          '{}',
          null,
          0,
        ),
        plan('UPDATE strata_streams SET version = ?, updated_at = ? WHERE stream_id = ?', 11, 0, streamId),
      ];
    },
    async queuePlans(queue) {
      // The statements of packages/sqlite/src/queue.ts.
      const t = Date.now();
      return [
        plan(
          'SELECT seq, id, body, headers, attempt, max_attempts, reason, enqueued_at FROM strata_queue_messages WHERE queue = ? AND dead = 0 AND visible_at <= ? ORDER BY priority DESC, seq LIMIT ?',
          queue,
          t,
          100,
        ),
        plan('UPDATE strata_queue_messages SET attempt = attempt + 1, receipt = ?, visible_at = ? WHERE seq = ?', 'r', t, 1),
        plan('DELETE FROM strata_queue_messages WHERE receipt = ? AND dead = 0 AND visible_at > ?', crypto.randomUUID(), t),
        plan(
          `SELECT coalesce(sum(CASE WHEN visible_at <= @now THEN 1 ELSE 0 END), 0) AS ready,
            coalesce(sum(CASE WHEN visible_at > @now AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0) AS in_flight,
            coalesce(sum(CASE WHEN visible_at > @now AND receipt IS NULL THEN 1 ELSE 0 END), 0) AS delayed,
            (SELECT count(*) FROM strata_queue_messages WHERE queue = @queue AND dead = 1) AS dead,
            min(CASE WHEN visible_at <= @now THEN enqueued_at END) AS oldest
          FROM strata_queue_messages WHERE queue = @queue AND dead = 0`.replace(/\s+/g, ' '),
          { now: t, queue },
        ),
      ];
    },
    sizeMb() {
      const size = (f: string) => {
        try {
          return statSync(f).size;
        } catch {
          return 0;
        }
      };
      return Math.round((size(file) + size(`${file}-wal`)) / 2 ** 20);
    },
    async close() {
      loader.close();
      await store.close();
    },
  };
}

/** Times `op` `times` times after `warmup` untimed calls. */
async function latency(times: number, op: (i: number) => Promise<unknown>, warmup = 5): Promise<{ calls: number; p50Ms: number; p99Ms: number }> {
  for (let i = 0; i < warmup; i++) await op(-1 - i);
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = now();
    await op(i);
    ms.push(now() - t);
  }
  return { calls: times, p50Ms: round2(percentile(ms, 50)), p99Ms: round2(percentile(ms, 99)) };
}

/** A deterministic spread of stream numbers over the loaded streams. */
const pick = (i: number, streams: number) => Math.abs((i * 2654435761) % streams);

async function measureEvents(b: Backend, size: number, loaded: number, versions: Map<string, number>): Promise<OpResult[]> {
  const { store, adapter } = b;
  const streams = loaded / PER_STREAM;
  const out: OpResult[] = [];
  const add = (op: string, r: { calls: number; p50Ms: number; p99Ms: number }, eventsPerSec?: number) => {
    out.push({ adapter, size, op, ...r, ...(eventsPerSec === undefined ? {} : { eventsPerSec: Math.round(eventsPerSec) }) });
    log(
      `  ${adapter} ${size.toLocaleString('en')}: ${op} p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${eventsPerSec === undefined ? '' : `, ${Math.round(eventsPerSec)} events/s`}`,
    );
  };
  const event = (i: number) => ({ type: 'OrderLineAdded', data: { i, text: `line ${i} of an order, with some text`, amount: i * 0.25 } });
  add(
    'append 1 event, existing stream',
    await latency(CALLS, async (i) => {
      const id = `load-${pick(i + size, streams)}`;
      const v = versions.get(id) ?? PER_STREAM;
      await store.events.append(id, [event(i)], { expectedVersion: v });
      versions.set(id, v + 1);
    }),
  );
  add('append 1 event, new stream', await latency(CALLS, (i) => store.events.append(`new-${size}-${i}`, [event(i)], { expectedVersion: 'no_stream' })));
  add(
    'readStream, 10-event stream',
    await latency(CALLS, async (i) => {
      let n = 0;
      for await (const _ of store.events.readStream(`load-${pick(i * 7 + 3, streams)}`)) n++;
      if (n < PER_STREAM) throw new Error(`readStream returned ${n} events`);
    }),
  );
  add('streamInfo', await latency(CALLS, (i) => store.events.streamInfo(`load-${pick(i * 13 + 5, streams)}`)));
  add('headPosition', await latency(CALLS, () => store.events.headPosition()));
  const window = Math.min(WINDOW_MAX, Math.floor(size / 4));
  const last = await b.positionBeforeLast(window);
  for (const [name, after] of [
    [`readAll, first ${window.toLocaleString('en')} events`, 0n],
    [`readAll, last ${window.toLocaleString('en')} events`, last],
  ] as const) {
    const runs: number[] = [];
    const r = await latency(
      3,
      async () => {
        const t = now();
        let n = 0;
        for await (const _ of store.events.readAll({ after, limit: window })) n++;
        if (n !== window) throw new Error(`${name}: read ${n} events`);
        runs.push(window / ((now() - t) / 1000));
      },
      1,
    );
    runs.splice(0, 1); // the warm-up
    add(name, r, [...runs].sort((x, y) => x - y)[1] ?? 0);
  }
  return out;
}

async function measureQueue(b: Backend, queue: string, scenario: string, size: number): Promise<OpResult[]> {
  const { store, adapter } = b;
  const out: OpResult[] = [];
  const add = (op: string, xs: number[]) => {
    const r = { calls: xs.length, p50Ms: round2(percentile(xs, 50)), p99Ms: round2(percentile(xs, 99)) };
    out.push({ adapter, size, scenario, op, ...r });
    log(`  ${adapter} ${scenario}: ${op} p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
  };
  /** `calls` claims of `max` messages, each acknowledged at once; the first `warmup` untimed. */
  const claims = async (max: number, calls: number, warmup: number) => {
    const receive: number[] = [];
    const ack: number[] = [];
    for (let i = 0; i < warmup + calls; i++) {
      let t = now();
      const got = await store.queue.receive(queue, { max, visibilityTimeoutMs: 60_000 });
      if (i >= warmup) receive.push(now() - t);
      if (got.length !== max) throw new Error(`received ${got.length} of ${max}`);
      t = now();
      const { acked } = await store.queue.ackMany(got.map((d) => d.receipt));
      if (i >= warmup) ack.push(now() - t);
      if (acked !== max) throw new Error(`acked ${acked} of ${max}`);
    }
    return { receive, ack };
  };
  const one = await claims(1, CALLS, 5);
  add('receive max 1', one.receive);
  add('ackMany of 1', one.ack);
  const hundred = await claims(100, CALLS / 4, 2);
  add('receive max 100', hundred.receive);
  add('ackMany of 100', hundred.ack);
  const statsOf = async (name: string) => {
    const ms: number[] = [];
    for (let i = 0; i < 2 + Math.max(5, CALLS / 10); i++) {
      const t = now();
      await store.queue.stats(name);
      if (i >= 2) ms.push(now() - t);
    }
    return ms;
  };
  add('stats', await statsOf(queue));
  // The small queue's stats next to the larger queues: what the other queues' rows cost it.
  add('stats of the small queue', await statsOf(SMALL_QUEUE_NAME));
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'strata-bench-scale-'));
  log(
    `sizes ${SIZES.map((s) => s.toLocaleString('en')).join(', ')} events; queues ${SMALL_QUEUE.toLocaleString('en')} and ${BIG_QUEUE.toLocaleString('en')} messages; adapters ${ADAPTERS.join(', ')}`,
  );
  const server = ADAPTERS.includes('postgres') ? await startPostgres({ settings: {} }) : undefined;
  const database = server === undefined ? undefined : await createTestDatabase(server.url, 'strata_bench_scale');
  const report: ScaleReport = {
    date: new Date().toISOString(),
    scale,
    sizes: SIZES,
    queueSizes: { small: SMALL_QUEUE, big: BIG_QUEUE },
    callsPerOp: CALLS,
    indexesRebuilt: true,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    postgres: '',
    sqlite: (new Database(':memory:').prepare('select sqlite_version() as v').get() as { v: string }).v,
    loads: [],
    ops: [],
    plans: [],
    notes: [],
    totalSeconds: 0,
  };
  try {
    if (database !== undefined) {
      const c = new pg.Client({ connectionString: database.url });
      await c.connect();
      const setting = async (name: string) => (await c.query(`show ${name}`)).rows[0][name] as string;
      report.postgres = `${await setting('server_version')} (fsync ${await setting('fsync')}, synchronous_commit ${await setting('synchronous_commit')}, shared_buffers ${await setting('shared_buffers')}, autovacuum ${await setting('autovacuum')})`;
      await c.end();
    }
    for (const adapter of ADAPTERS) {
      const b = adapter === 'postgres' ? await postgresBackend(database?.url ?? '') : await sqliteBackend(join(work, 'scale.db'));
      try {
        let loaded = 0;
        const versions = new Map<string, number>();
        for (const [i, size] of SIZES.entries()) {
          const stored = await b.storedEvents();
          const target = loaded + Math.floor(Math.max(0, size - stored) / PER_STREAM) * PER_STREAM;
          log(`${adapter}: loading ${(target - loaded).toLocaleString('en')} events (to ${size.toLocaleString('en')})`);
          const indexes = await b.dropEventIndexes();
          const t = now();
          for (let from = loaded; from < target; from += CHUNK) {
            const to = Math.min(target, from + CHUNK);
            await b.loadEvents(from, to);
            if ((to - loaded) % (5 * CHUNK) === 0 && to < target)
              log(`  ${adapter}: ${(to - loaded).toLocaleString('en')} loaded, ${Math.round((now() - t) / 1000)} s`);
          }
          const seconds = (now() - t) / 1000;
          const indexSeconds = indexes.length > 0 ? await b.createIndexes(indexes) : undefined;
          if (indexSeconds !== undefined) {
            const rebuilt = await b.eventIndexes();
            if (rebuilt.length < 4 || rebuilt.join('\n') !== indexes.join('\n'))
              throw new Error(`${adapter}: the event indexes differ after the rebuild: ${rebuilt.join('; ')}`);
            log(`  ${adapter}: ${indexes.length} indexes built again in ${Math.round(indexSeconds)} s`);
          }
          const analyzeSeconds = await b.analyze();
          const checkpointSeconds = await b.settle();
          const rows = target - loaded;
          loaded = target;
          const step: LoadStep = {
            adapter,
            what: `events ${stored.toLocaleString('en')} → ${(stored + rows).toLocaleString('en')}`,
            rows,
            seconds: round2(seconds),
            rowsPerSec: Math.round(rows / seconds),
            ...(analyzeSeconds === undefined ? {} : { analyzeSeconds: round2(analyzeSeconds) }),
            ...(checkpointSeconds === undefined ? {} : { checkpointSeconds: round2(checkpointSeconds) }),
            ...(indexSeconds === undefined ? {} : { indexSeconds: round2(indexSeconds) }),
            dbMb: await b.sizeMb(),
          };
          report.loads.push(step);
          log(`${adapter}: ${step.what} in ${step.seconds} s (${step.rowsPerSec} events/s), analyze ${step.analyzeSeconds ?? '-'} s, ${step.dbMb} MB`);
          report.ops.push(...(await measureEvents(b, await b.storedEvents(), loaded, versions)));
          if (i === SIZES.length - 1) {
            const stream = `load-${pick(12345, loaded / PER_STREAM)}`;
            const after = await b.positionBeforeLast(Math.min(WINDOW_MAX, Math.floor(size / 4)));
            for (const p of await b.eventPlans(stream, after)) report.plans.push({ adapter, context: `${size.toLocaleString('en')} events`, ...p });
          }
        }
        // The queue: a small queue, then BIG_QUEUE ready messages, then BIG_QUEUE dead letters and a few ready ones,
        // each in a queue of its own in the one messages table (the earlier ones stay).
        const scenarios: [string, string, number, number][] = [
          [`small: ${SMALL_QUEUE.toLocaleString('en')} ready`, SMALL_QUEUE_NAME, SMALL_QUEUE, 0],
          [`large: ${BIG_QUEUE.toLocaleString('en')} ready`, 'scale-ready', BIG_QUEUE, 0],
          [`${BIG_QUEUE.toLocaleString('en')} dead + ${SMALL_QUEUE.toLocaleString('en')} ready`, 'scale-dead', SMALL_QUEUE, BIG_QUEUE],
        ];
        for (const [scenario, queue, ready, dead] of scenarios) {
          const t = now();
          if (dead > 0) await b.loadMessages(queue, dead, true);
          await b.loadMessages(queue, ready, false);
          const seconds = (now() - t) / 1000;
          const analyzeSeconds = await b.analyze();
          const checkpointSeconds = await b.settle();
          const step: LoadStep = {
            adapter,
            what: `queue ${scenario}`,
            rows: ready + dead,
            seconds: round2(seconds),
            rowsPerSec: Math.round((ready + dead) / seconds),
            ...(analyzeSeconds === undefined ? {} : { analyzeSeconds: round2(analyzeSeconds) }),
            ...(checkpointSeconds === undefined ? {} : { checkpointSeconds: round2(checkpointSeconds) }),
            dbMb: await b.sizeMb(),
          };
          report.loads.push(step);
          log(`${adapter}: ${step.what} loaded in ${step.seconds} s`);
          report.ops.push(...(await measureQueue(b, queue, scenario, ready + dead)));
          if (ready + dead >= BIG_QUEUE) for (const p of await b.queuePlans(queue)) report.plans.push({ adapter, context: `queue ${scenario}`, ...p });
        }
      } finally {
        await b.close();
      }
    }
    if (database !== undefined) {
      const c = new pg.Client({ connectionString: database.url });
      await c.connect();
      const { rows } = await c.query<{ relname: string; autovacuum_count: number; autoanalyze_count: number }>(
        `select relname, autovacuum_count::int, autoanalyze_count::int from pg_stat_user_tables where schemaname = 'strata' and relname in ('events', 'streams', 'queue_messages') order by relname`,
      );
      report.notes.push(
        `PostgreSQL autovacuum during the run: ${rows.map((r) => `${r.relname} ${r.autovacuum_count} vacuum(s), ${r.autoanalyze_count} analyze(s)`).join('; ')}.`,
      );
      await c.end();
    }
  } finally {
    await database?.drop();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  report.totalSeconds = Math.round((Date.now() - started) / 1000);
  const results = fileURLToPath(new URL('../results/', import.meta.url));
  const md = writeScaleReport(report, results, OUT);
  writeFileSync(join(results, `${OUT}.json`), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(md);
  log(`done in ${report.totalSeconds} s`);
}

await main();
