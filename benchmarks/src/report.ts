import { mkdirSync, writeFileSync } from 'node:fs';
import type { Result } from './main.js';
import { NO_SDK } from './tracing.js';

/** The ratios the issue asks Strata to reach against the raw baseline of the same run. */
export const TARGETS: { workload: RegExp; implementation: string; min: number; label: string }[] = [
  { workload: /^append 1 event per transaction/, implementation: 'strata postgres', min: 0.9, label: 'appends, 1 event' },
  { workload: /^append 100 events/, implementation: 'strata postgres', min: 0.9, label: 'appends, 100 events' },
  { workload: /^read a [\d,]+-event stream/, implementation: 'strata postgres', min: 0.8, label: 'stream read' },
  { workload: /^read all/, implementation: 'strata postgres', min: 0.7, label: 'gap-safe read-all' },
  { workload: /^subscription catch-up/, implementation: 'strata postgres', min: 0.5, label: 'subscription catch-up' },
  {
    workload: /^named-consumer catch-up/,
    implementation: 'strata postgres, named consumer',
    min: 0.5,
    label: 'named consumer vs plain subscription, PostgreSQL',
  },
  { workload: /^named-consumer catch-up/, implementation: 'strata sqlite, named consumer', min: 0.5, label: 'named consumer vs plain subscription, SQLite' },
  { workload: /^send /, implementation: 'strata postgres', min: 0.9, label: 'queue send' },
  { workload: /^receive and ack/, implementation: 'strata postgres', min: 0.7, label: 'receive-and-ack' },
  { workload: /^append /, implementation: 'strata sqlite', min: 0.8, label: 'SQLite appends vs raw better-sqlite3' },
  { workload: /^send /, implementation: 'strata sqlite', min: 0.8, label: 'SQLite sends vs raw better-sqlite3' },
  { workload: /^receive and ack/, implementation: 'strata sqlite', min: 0.8, label: 'SQLite receive-and-ack vs raw better-sqlite3' },
  {
    workload: /^(read a [\d,]+-event stream|read all|subscription catch-up)/,
    implementation: 'strata sqlite',
    min: 0.8,
    label: 'SQLite reads vs raw better-sqlite3',
  },
];

/**
 * The latency targets (suite `realtime`): Strata's p50 at most `max` times the p50 of the raw
 * implementation `against`, in the same run and workload.
 */
export const LATENCY_TARGETS: { workload: RegExp; implementation: string; against: string; max: number; label: string }[] = [
  {
    workload: /^commit-to-handler latency/,
    implementation: 'strata postgres, 1 subscription',
    against: 'raw pg: INSERT + NOTIFY, one autocommit statement',
    max: 2,
    label: 'append-to-handler p50 vs raw write + NOTIFY',
  },
  {
    workload: /^commit-to-handler latency/,
    implementation: 'strata postgres, 1 subscription',
    against: 'raw pg: pg_notify, autocommit',
    max: 2,
    label: 'append-to-handler p50 vs bare pg_notify',
  },
];

/** A rate for the tables: whole numbers, with two decimals below 10 (a fresh PGlite store per test is 0.2/s). */
const rate = (x: number) => (x < 10 ? x.toFixed(2) : Math.round(x).toLocaleString('en'));

/** A ratio of the tracing rows: three decimals, since the differences are small. */
const ratio3 = (x: number) => x.toFixed(3);

/**
 * Writes `results/latest.json` and `results/latest.md` after a full run, `results/sample.{json,md}`
 * (not committed) after a sample run (`BENCH_SCALE` below 1, as in CI), and `results/partial.{json,md}`
 * (not committed) when `name` says so (one section run alone with `BENCH_ONLY`).
 */
export async function writeReport(results: Result[], environment: Record<string, unknown>, name?: 'partial'): Promise<void> {
  const base = name ?? (Number(environment.scale ?? 1) < 1 ? 'sample' : 'latest');
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${base}.json`, dir), `${JSON.stringify({ environment, results }, null, 2)}\n`);

  const lines: string[] = [];
  lines.push('# Benchmark results', '');
  lines.push(
    `Run ${String(environment.date)} on ${String(environment.cpus)}, ${String(environment.memoryGb)} GiB, ${String(environment.os)}, Node.js ${String(environment.node)}.`,
  );
  const pgInfo = environment.postgres as { version: string; fsync: string; synchronousCommit: string };
  lines.push(
    `PostgreSQL ${pgInfo.version} (fsync ${pgInfo.fsync}, synchronous_commit ${pgInfo.synchronousCommit}), SQLite ${String(environment.sqlite)} (WAL, synchronous FULL).`,
  );
  lines.push(
    environment.only === undefined
      ? `Each workload ran ${String(environment.rounds)} rounds per implementation, alternating the order; commit ${String(environment.commit)}; ${String(environment.totalSeconds)} s in all.`
      : `Only the section \`${String(environment.only)}\` (BENCH_ONLY), BENCH_SCALE ${String(environment.scale)}; commit ${String(environment.commit)}; ${String(environment.totalSeconds)} s in all.`,
    '',
  );
  const workloads = [...new Set(results.map((r) => `${r.suite}\u0000${r.workload}`))];
  let realtimeIntro = false;
  let tracingIntro = false;
  for (const key of workloads) {
    const [suite, workload] = key.split('\u0000') as [string, string];
    const rows = results.filter((r) => r.suite === suite && r.workload === workload);
    if (suite === 'tracing') {
      if (!tracingIntro) {
        tracingIntro = true;
        lines.push(
          '## Cost of tracing',
          '',
          'The same store plain, through `instrument()` of `@strata/core/otel` with only the OpenTelemetry API (no SDK registered: its no-op tracer), and through `instrument(store, { tracerProvider })` with a `NodeTracerProvider`, a `BatchSpanProcessor` and an exporter that drops the spans (AsyncLocalStorage context manager on). One span per append, two per received and acked message. Interleaved rounds, rotating the order; the ratio is to the plain store in the same round (median, and lowest–highest of the rounds); the time added per operation is the difference of the median operation times (p50) over all rounds; the plain store’s noise is the median deviation of its rounds from its median round, and the no-SDK variant is within noise when its median ratio is at most that far from 1.',
          '',
        );
      }
      lines.push(`### ${workload.replace(/^cost of tracing: /, '')}`, '');
      lines.push(
        '| variant | ops/s | p50 ms | p99 ms | ratio (all rounds) | ratio per round: median [min–max] | µs added per op (p50) | within the plain store’s noise |',
        '|---|---:|---:|---:|---:|---:|---:|---|',
      );
      for (const r of rows) {
        const t = r.tracing;
        const own = r.implementation === r.baseline;
        lines.push(
          `| ${r.implementation} | ${rate(r.opsPerSec ?? 0)} | ${r.p50Ms} | ${r.p99Ms} | ${own ? 'baseline' : ratio3(r.ratioVsRaw ?? 0)} | ${own || t === undefined ? '—' : `${ratio3(t.ratioMedian)} [${ratio3(t.ratioMin)}–${ratio3(t.ratioMax)}]`} | ${own || t === undefined ? '—' : t.addedUs} | ${t === undefined ? '—' : own ? `noise ±${t.plainNoisePct} %` : t.withinNoise ? 'yes' : 'no'} |`,
        );
      }
      lines.push('');
      continue;
    }
    if (suite === 'realtime') {
      if (!realtimeIntro) {
        realtimeIntro = true;
        lines.push(
          '## Realtime latency',
          '',
          'From just before the write (or its COMMIT, where named) to the handler or receipt, in ms, on the same server; the last column is the p50 over the named baseline’s p50 (lower is better).',
          '',
        );
      }
      lines.push(`### ${workload}`, '');
      lines.push('| implementation | samples | p50 ms | p99 ms | p50 vs baseline |', '|---|---:|---:|---:|---:|');
      for (const r of rows) {
        lines.push(
          `| ${r.implementation} | ${r.samples ?? '—'} | ${r.p50Ms} | ${r.p99Ms} | ${r.ratioVsRaw === null ? '—' : r.implementation === r.baseline ? 'baseline' : r.ratioVsRaw.toFixed(2)} |`,
        );
      }
      lines.push('');
      continue;
    }
    lines.push(`## ${workload}`, '');
    if (/^consume /.test(workload))
      lines.push(
        '`consume()` with a no-op handler and its default options but `concurrency`, timed until every message was handled and acked (the queue’s `stats()` empty) and the consumer stopped; the raw loops claim with `UPDATE … SKIP LOCKED` (on SQLite, IMMEDIATE transactions), call the handler for each message and delete them. The p50 and p99 columns are the rounds’ wall times (see docs/benchmarks.md).',
        '',
      );
    if (suite === 'testing')
      lines.push(
        'What each test pays for an isolated, migrated store of its own (open it, append one event, close it; the append is not timed). The sources pay once for booting PGlite or creating a database (in brackets); the last column is how many times cheaper than the baseline.',
        '',
      );
    const rss = rows.some((r) => r.peakRssMb !== undefined);
    lines.push(`| implementation | ${rows[0]?.unit ?? 'ops/s'} | p50 ms | p99 ms | vs raw |${rss ? ' peak RSS MB |' : ''}`);
    lines.push(`|---|---:|---:|---:|---:|${rss ? '---:|' : ''}`);
    for (const r of rows) {
      lines.push(
        `| ${r.implementation} | ${rate(r.opsPerSec ?? 0)} | ${r.p50Ms} | ${r.p99Ms} | ${r.ratioVsRaw === null ? '—' : `${r.ratioVsRaw.toFixed(2)} (${r.baseline})`} |${rss ? ` ${Math.round(r.peakRssMb ?? 0)} |` : ''}`,
      );
    }
    lines.push('');
  }
  lines.push('## Targets', '', '| target | workload | ratio | met |', '|---|---|---:|---|');
  for (const t of TARGETS) {
    for (const r of results.filter((x) => x.implementation === t.implementation && t.workload.test(x.workload))) {
      lines.push(`| ${t.label} ≥ ${t.min} | ${r.workload} | ${r.ratioVsRaw?.toFixed(2) ?? '—'} | ${(r.ratioVsRaw ?? 0) >= t.min ? 'yes' : 'no'} |`);
    }
  }
  for (const t of LATENCY_TARGETS) {
    for (const r of results.filter((x) => x.suite === 'realtime' && x.implementation === t.implementation && t.workload.test(x.workload))) {
      const base = results.find((x) => x.suite === 'realtime' && x.workload === r.workload && x.implementation === t.against);
      if (base === undefined || base.p50Ms === 0) continue;
      const ratio = r.p50Ms / base.p50Ms;
      lines.push(`| ${t.label} ≤ ${t.max}× | ${r.workload} (${r.p50Ms} ms vs ${base.p50Ms} ms) | ${ratio.toFixed(2)} | ${ratio <= t.max ? 'yes' : 'no'} |`);
    }
  }
  // The databases only: the memory rows measure the instrumentation's CPU time, not a user's store.
  for (const r of results.filter((x) => x.suite === 'tracing' && x.implementation === NO_SDK && x.tracing !== undefined && !x.workload.includes('memory'))) {
    const t = r.tracing as NonNullable<Result['tracing']>;
    lines.push(
      `| tracing with no SDK within noise of the plain store | ${r.workload.replace(/^cost of tracing: /, '')} | ${ratio3(t.ratioMedian)} (noise ±${t.plainNoisePct} %) | ${t.withinNoise ? 'yes' : 'no'} |`,
    );
  }
  const rss = results.find((r) => r.suite === 'memory' && r.implementation === 'strata postgres');
  if (rss?.peakRssMb !== undefined)
    lines.push(`| peak RSS < 150 MB | ${rss.workload} | ${Math.round(rss.peakRssMb)} MB | ${rss.peakRssMb < 150 ? 'yes' : 'no'} |`);
  if (environment.only === undefined)
    lines.push(
      '',
      '## Against Emmett and pg-boss',
      '',
      '| workload | competitor | competitor ops/s | strata postgres ops/s | ahead |',
      '|---|---|---:|---:|---|',
    );
  for (const competitor of ['emmett', 'pg-boss']) {
    for (const r of results.filter((x) => x.implementation === competitor && x.opsPerSec !== null)) {
      const ours = results.find((x) => x.workload === r.workload && x.implementation === 'strata postgres');
      if (ours?.opsPerSec == null || r.opsPerSec === null) continue;
      lines.push(
        `| ${r.workload} | ${competitor} | ${Math.round(r.opsPerSec).toLocaleString('en')} | ${Math.round(ours.opsPerSec).toLocaleString('en')} | ${ours.opsPerSec > r.opsPerSec ? 'yes' : 'no'} |`,
      );
    }
  }
  if (environment.only === undefined) {
    lines.push(
      '',
      '## Cost as data grows',
      '',
      'The large sizes (1, 10 and 50 million stored events, queues of 1,000,000 ready messages and of 1,000,000 dead letters) run behind their own command, `pnpm bench:scale`, which takes from half an hour to hours: its table, plot and query plans are in [scale.md](scale.md) ([scale.svg](scale.svg)).',
    );
  }
  writeFileSync(new URL(`${base}.md`, dir), `${lines.join('\n')}\n`);
}
