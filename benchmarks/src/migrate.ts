// `pnpm bench:migrate`: @strata/migrate moving 1,000,000 events from a SQLite file into PostgreSQL,
// next to a raw batch insert of the same rows (better-sqlite3 reads, multi-row INSERTs through pg, the
// same batch size, into the same tables and indexes) in the same run, each in a fresh process whose
// peak resident memory is reported. BENCH_SCALE scales the event count (CI runs 0.05).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { createTestDatabase, startPostgres } from '@strata/testing';
import pg from 'pg';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const EVENTS = Math.max(1000, Math.round(1_000_000 * Math.min(1, scale)));
const PER_STREAM = 10;
const BATCH = 2000;
const log = (s: string) => process.stderr.write(`[bench:migrate] ${s}\n`);

interface Run {
  events: number;
  ms: number;
  peakRssMb: number;
}

/** A SQLite source of EVENTS events, 10 per stream, interleaved across streams as live traffic is. */
async function buildSource(file: string): Promise<void> {
  const store = await createSqliteStore(file, { synchronous: 'normal' });
  const streams = EVENTS / PER_STREAM;
  const uuid = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;
  store.client.exec(`WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ${EVENTS - 1})
    INSERT INTO strata_events (position, stream_id, version, event_id, type, schema_version, data, metadata, correlation_id, recorded_at)
    SELECT n + 1, 'order-' || (n % ${streams}), n / ${streams} + 1, ${uuid}, CASE WHEN n < ${streams} THEN 'OrderPlaced' ELSE 'OrderLineAdded' END, 1,
           json_object('i', n, 'text', 'line ' || n || ' of an order, with some text', 'amount', n * 0.25),
           json_object('correlationId', 'c-' || (n % 1000)), 'c-' || (n % 1000), 1700000000000 + n FROM g`);
  store.client.exec(`INSERT INTO strata_streams (stream_id, version, created_at, updated_at)
    SELECT stream_id, max(version), min(recorded_at), max(recorded_at) FROM strata_events GROUP BY stream_id`);
  await store.close();
}

type Kind = 'strata' | 'raw' | 'raw-unnest' | 'raw-json';

function child(kind: Kind, source: string, url: string, schema: string): Promise<Run> {
  const script = fileURLToPath(new URL('migrate-child.mjs', import.meta.url));
  return new Promise<Run>((resolve, reject) => {
    const p = spawn(process.execPath, [script, kind, source, url, schema, String(BATCH)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    let text = '';
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    p.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(text.trim().split('\n').pop() ?? '{}') as Run) : reject(new Error(`${kind} run exited with ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'strata-bench-migrate-'));
  const server = process.env.DATABASE_URL === undefined ? await startPostgres({ settings: {} }) : undefined;
  const serverUrl = process.env.DATABASE_URL ?? server?.url ?? '';
  const database = await createTestDatabase(serverUrl, 'strata_bench_migrate');
  try {
    const source = join(work, 'source.db');
    log(`building a SQLite source of ${EVENTS.toLocaleString('en')} events`);
    await buildSource(source);
    // Each raw run writes into Strata's tables in a schema of its own, created (untimed) first.
    const variants: { kind: Kind; schema: string; implementation: string }[] = [
      { kind: 'raw', schema: 'raw', implementation: 'raw: better-sqlite3 → pg INSERT … VALUES (2,000 rows, 10 parameters each)' },
      { kind: 'raw-unnest', schema: 'raw_unnest', implementation: 'raw: better-sqlite3 → pg INSERT … SELECT FROM unnest(one array per column)' },
      { kind: 'raw-json', schema: 'raw_json', implementation: 'raw: better-sqlite3 → pg INSERT … SELECT FROM jsonb_to_recordset(one JSON parameter)' },
    ];
    // Strata runs between the raw runs, so that none of them has the server's caches to itself.
    const runs: { implementation: string; run: Run }[] = [];
    let strata: Run | undefined;
    for (const [i, v] of variants.entries()) {
      await (await createPostgresStore(database.url, { schema: v.schema })).close();
      log(v.implementation);
      const run = await child(v.kind, source, database.url, v.schema);
      log(`  ${Math.round(run.events / (run.ms / 1000))} events/s, peak RSS ${Math.round(run.peakRssMb)} MB`);
      runs.push({ implementation: v.implementation, run });
      if (i === 0) {
        log('strata: @strata/migrate');
        strata = await child('strata', source, database.url, 'strata');
        log(`  ${Math.round(strata.events / (strata.ms / 1000))} events/s, peak RSS ${Math.round(strata.peakRssMb)} MB`);
      }
    }
    if (strata === undefined) throw new Error('the Strata run did not happen');
    runs.push({ implementation: 'strata: @strata/migrate (migrate() with its defaults)', run: strata });
    const check = new pg.Client({ connectionString: database.url });
    await check.connect();
    for (const schema of ['strata', ...variants.map((v) => v.schema)]) {
      const { rows } = await check.query<{ n: number }>(`select count(*)::int as n from ${schema}.events`);
      if (rows[0]?.n !== EVENTS) throw new Error(`expected ${EVENTS} events in ${schema}, found ${rows[0]?.n}`);
    }
    await check.end();
    const rate = (r: Run) => Math.round(r.events / (r.ms / 1000));
    // The ratio is against the fastest raw baseline.
    const best = Math.max(...runs.slice(0, -1).map((r) => rate(r.run)));
    const ratio = Math.round((rate(strata) / best) * 100) / 100;
    const result = {
      date: new Date().toISOString(),
      scale,
      events: EVENTS,
      batchSize: BATCH,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      rows: runs.map(({ implementation, run }) => ({
        implementation,
        eventsPerSec: rate(run),
        seconds: Math.round(run.ms / 100) / 10,
        peakRssMb: Math.round(run.peakRssMb),
      })),
      ratioVsFastestRaw: ratio,
      totalSeconds: Math.round((Date.now() - started) / 1000),
    };
    const results = fileURLToPath(new URL('../results/', import.meta.url));
    const suffix = scale < 1 ? '-sample' : '';
    writeFileSync(join(results, `migrate${suffix}.json`), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `# Migration benchmark (${result.date.slice(0, 10)}, ${EVENTS.toLocaleString('en')} events, batches of ${BATCH})`,
      '',
      '| implementation | events/s | seconds | peak RSS (MB) |',
      '|---|---:|---:|---:|',
      ...result.rows.map((r) => `| ${r.implementation} | ${r.eventsPerSec.toLocaleString('en')} | ${r.seconds} | ${r.peakRssMb} |`),
      '',
      `Strata ÷ the fastest raw baseline: **${ratio}** (target ≥ 0.7); Strata's peak RSS ${Math.round(strata.peakRssMb)} MB (target < 200 MB).`,
      'The raw runs read the same rows with better-sqlite3 and write the events and stream rows into the same tables and indexes, in transactions of the same batch size; Strata also reads snapshots, messages and checkpoints (none here), checks every record before the first write, and records its progress in each batch.',
      '',
    ].join('\n');
    writeFileSync(join(results, `migrate${suffix}.md`), md);
    process.stdout.write(md);
  } finally {
    await database.drop();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
