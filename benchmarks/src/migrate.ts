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

function child(kind: 'strata' | 'raw', source: string, url: string, schema: string): Promise<Run> {
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
    // The raw run writes into Strata's tables in a schema of their own, created (untimed) first.
    const rawSchema = await createPostgresStore(database.url, { schema: 'raw' });
    await rawSchema.close();
    log('raw: better-sqlite3 → multi-row INSERT');
    const raw = await child('raw', source, database.url, 'raw');
    log(`raw: ${Math.round(raw.events / (raw.ms / 1000))} events/s, peak RSS ${Math.round(raw.peakRssMb)} MB`);
    log('strata: @strata/migrate');
    const strata = await child('strata', source, database.url, 'strata');
    log(`strata: ${Math.round(strata.events / (strata.ms / 1000))} events/s, peak RSS ${Math.round(strata.peakRssMb)} MB`);
    const check = new pg.Client({ connectionString: database.url });
    await check.connect();
    const { rows } = await check.query<{ s: number; r: number }>(
      'select (select count(*) from strata.events)::int as s, (select count(*) from raw.events)::int as r',
    );
    await check.end();
    if (rows[0]?.s !== EVENTS || rows[0]?.r !== EVENTS || strata.events !== EVENTS) {
      throw new Error(`expected ${EVENTS} events on both sides, found ${JSON.stringify(rows[0])}`);
    }
    const rate = (r: Run) => Math.round(r.events / (r.ms / 1000));
    const ratio = Math.round((rate(strata) / rate(raw)) * 100) / 100;
    const result = {
      date: new Date().toISOString(),
      scale,
      events: EVENTS,
      batchSize: BATCH,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      rows: [
        {
          implementation: 'raw: better-sqlite3 → pg multi-row INSERT',
          eventsPerSec: rate(raw),
          seconds: Math.round(raw.ms / 100) / 10,
          peakRssMb: Math.round(raw.peakRssMb),
        },
        {
          implementation: 'strata: @strata/migrate',
          eventsPerSec: rate(strata),
          seconds: Math.round(strata.ms / 100) / 10,
          peakRssMb: Math.round(strata.peakRssMb),
        },
      ],
      ratioVsRaw: ratio,
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
      `Strata ÷ raw: **${ratio}** (target ≥ 0.7); Strata's peak RSS ${result.rows[1]?.peakRssMb} MB (target < 200 MB).`,
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
