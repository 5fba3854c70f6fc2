// The report of `pnpm bench:scale`: a Markdown table of cost against stored size, the query plans, and
// an SVG plot drawn here (no plotting dependency).
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadStep, OpResult } from './scale.js';

/** Everything one `pnpm bench:scale` run measured (results/scale.json). */
export interface ScaleReport {
  date: string;
  scale: number;
  sizes: number[];
  queueSizes: { small: number; big: number };
  callsPerOp: number;
  /** Whether every event load step rebuilt the event table's secondary indexes after loading (absent in older reports: indexes in place). */
  indexesRebuilt?: boolean;
  machine: string;
  postgres: string;
  sqlite: string;
  loads: LoadStep[];
  ops: OpResult[];
  plans: { adapter: string; context: string; statement: string; plan: string }[];
  notes: string[];
  totalSeconds: number;
}

const n = (x: number) => x.toLocaleString('en');
/** The operation's name without its window size ("readAll, first 100,000 events" → "readAll, first window"). */
const opKey = (op: string) => op.replace(/(first|last) [\d,]+ events/, '$1 window');
const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Milliseconds per 1,000 events for the read-all windows, p50 otherwise: the value plotted. */
function plotted(r: OpResult): number {
  return r.eventsPerSec === undefined ? r.p50Ms : 1_000_000 / r.eventsPerSec;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  points: [x: number, y: number][];
}

/** One log-log (or categorical-x, log-y) panel. */
function panel(
  title: string,
  series: Series[],
  x0: number,
  width: number,
  height: number,
  xTicks: { at: number; label: string }[],
  xLog: boolean,
  xLabel: string,
): string {
  const left = x0 + 56;
  const right = x0 + width - 10;
  const top = 40;
  const bottom = height - 150;
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((y) => y > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 1)));
  const xs = xTicks.map((t) => t.at);
  const fx = (x: number) => {
    const [a, b] = xLog ? [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))] : [Math.min(...xs), Math.max(...xs)];
    const v = xLog ? Math.log10(x) : x;
    const pad = (right - left) * (xLog ? 0.06 : 0.2);
    return b === a ? (left + right) / 2 : left + pad + ((v - a) / (b - a)) * (right - left - 2 * pad);
  };
  const fy = (y: number) => bottom - ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (bottom - top);
  const parts: string[] = [];
  parts.push(`<text x="${(left + right) / 2}" y="22" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) {
    const y = fy(10 ** e).toFixed(1);
    parts.push(`<line x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end">${10 ** e >= 1 ? n(10 ** e) : 10 ** e}</text>`);
  }
  for (const t of xTicks) {
    const x = fx(t.at).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${bottom + 16}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(${x0 + 14} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">ms (log)</text>`);
  for (const s of series) {
    const pts = s.points.map(([x, y]) => `${fx(x).toFixed(1)},${fy(y).toFixed(1)}`);
    parts.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      ...s.points.map(([x, y]) => `<circle cx="${fx(x).toFixed(1)}" cy="${fy(y).toFixed(1)}" r="3" fill="${s.color}"/>`),
    );
  }
  // Legend: one line per operation (colour); solid PostgreSQL, dashed SQLite.
  const labels = [...new Map(series.map((s) => [s.label, s.color])).entries()];
  labels.forEach(([label, color], i) => {
    const x = left + (i % 2) * ((right - left) / 2);
    const y = bottom + 56 + Math.floor(i / 2) * 16;
    parts.push(`<line x1="${x}" x2="${x + 22}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${x + 28}" y="${y}">${esc(label)}</text>`);
  });
  return parts.join('\n');
}

function svg(report: ScaleReport): string {
  const width = 1100;
  const height = 560;
  const eventOps = [...new Set(report.ops.filter((r) => r.scenario === undefined).map((r) => opKey(r.op)))];
  const eventSeries: Series[] = [];
  for (const adapter of ['postgres', 'sqlite']) {
    eventOps.forEach((op, i) => {
      const rows = report.ops.filter((r) => r.adapter === adapter && r.scenario === undefined && opKey(r.op) === op);
      if (rows.length > 0)
        eventSeries.push({
          label: op.startsWith('readAll') ? `${op} (ms per 1,000 events)` : `${op} (p50)`,
          color: COLORS[i % COLORS.length] ?? '#000',
          dashed: adapter === 'sqlite',
          points: rows.map((r) => [r.size, plotted(r)]),
        });
    });
  }
  const sizes = [...new Set(report.ops.filter((r) => r.scenario === undefined).map((r) => r.size))].sort((a, b) => a - b);
  const scenarios = [...new Set(report.ops.filter((r) => r.scenario !== undefined).map((r) => r.scenario as string))];
  const queueOps = [...new Set(report.ops.filter((r) => r.scenario !== undefined).map((r) => r.op))];
  const queueSeries: Series[] = [];
  for (const adapter of ['postgres', 'sqlite']) {
    queueOps.forEach((op, i) => {
      const rows = report.ops.filter((r) => r.adapter === adapter && r.scenario !== undefined && r.op === op);
      if (rows.length > 0)
        queueSeries.push({
          label: `${op} (p50)`,
          color: COLORS[i % COLORS.length] ?? '#000',
          dashed: adapter === 'sqlite',
          points: rows.map((r) => [scenarios.indexOf(r.scenario as string), r.p50Ms]),
        });
    });
  }
  const left = panel(
    'Events: cost against stored events',
    eventSeries,
    0,
    width * 0.58,
    height,
    sizes.map((s) => ({ at: s, label: s >= 1e6 ? `${s / 1e6}M` : s >= 1e3 ? `${Math.round(s / 1e3)}k` : String(s) })),
    true,
    'events stored (log)',
  );
  const right = panel(
    'Queue: claim cost by queue contents',
    queueSeries,
    width * 0.58,
    width * 0.42,
    height,
    scenarios.map((s, i) => ({ at: i, label: s.replace(/^(small|large): /, '').replace(/ ready$/, '') })),
    false,
    'messages in the queue',
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${left}
${right}
<text x="10" y="${height - 8}" fill="#555">Solid: PostgreSQL · dashed: SQLite. ${esc(report.date.slice(0, 10))}, ${esc(report.machine)}. p50 latency; read-all windows as ms per 1,000 events.</text>
</svg>
`;
}

/** Writes `<base>.md` and `<base>.svg` into `dir` and returns the Markdown. */
export function writeScaleReport(report: ScaleReport, dir: string, base: string): string {
  writeFileSync(join(dir, `${base}.svg`), svg(report));
  const lines: string[] = [];
  lines.push(`# Cost as data grows (\`pnpm bench:scale\`, ${report.date.slice(0, 10)})`, '');
  lines.push(
    `Sizes: ${report.sizes.map(n).join(', ')} stored events (streams of 10 events); queues of ${n(report.queueSizes.small)} and ${n(report.queueSizes.big)} messages. ` +
      `${report.callsPerOp} timed calls per latency row (read-all windows: the median of 3 reads). Machine: ${report.machine}. ` +
      `PostgreSQL ${report.postgres}; SQLite ${report.sqlite} (a file, Strata's defaults: WAL, synchronous FULL). Whole run ${n(report.totalSeconds)} s.`,
    '',
  );
  lines.push(`![cost against size](${base}.svg)`, '');
  lines.push(
    '## Load steps',
    '',
    ...(report.loads.some((l) => l.indexSeconds !== undefined)
      ? [
          `Each event step drops the event table's four secondary indexes, loads, and builds them again ("indexes (s)", not in "seconds"; the last rate column includes it): the same definitions (checked), but freshly packed at every size, where a long-lived store's stream and correlation indexes would have split pages and be somewhat larger.`,
          '',
        ]
      : []),
    '| adapter | step | rows | seconds | rows/s | indexes (s) | ANALYZE (s) | checkpoint (s) | database (MB) | rows/s with the index build |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const l of report.loads)
    lines.push(
      `| ${l.adapter} | ${l.what} | ${n(l.rows)} | ${l.seconds} | ${n(l.rowsPerSec)} | ${l.indexSeconds ?? '—'} | ${l.analyzeSeconds ?? '—'} | ${l.checkpointSeconds ?? '—'} | ${n(l.dbMb)} | ${l.indexSeconds === undefined ? n(l.rowsPerSec) : n(Math.round(l.rows / (l.seconds + l.indexSeconds)))} |`,
    );
  lines.push('');
  const sizes = [...new Set(report.ops.filter((r) => r.scenario === undefined).map((r) => r.size))].sort((a, b) => a - b);
  lines.push('## Events', '', 'p50 / p99 in ms; read-all windows in events/s.', '');
  lines.push(`| adapter | operation | ${sizes.map(n).join(' | ')} | largest ÷ smallest |`, `|---|---|${sizes.map(() => '---:|').join('')}---:|`);
  for (const adapter of ['postgres', 'sqlite']) {
    const ops = [...new Set(report.ops.filter((r) => r.adapter === adapter && r.scenario === undefined).map((r) => opKey(r.op)))];
    for (const op of ops) {
      const rows = sizes.map((s) => report.ops.find((r) => r.adapter === adapter && r.scenario === undefined && r.size === s && opKey(r.op) === op));
      const cells = rows.map((r) => (r === undefined ? '—' : r.eventsPerSec !== undefined ? n(r.eventsPerSec) : `${r.p50Ms} / ${r.p99Ms}`));
      const first = rows.find((r) => r !== undefined);
      const last = [...rows].reverse().find((r) => r !== undefined);
      // Below 0.05 ms the p50 is a few rounded hundredths (0.01 → 0, 0.02 → 0.04): no ratio worth printing.
      const tiny = (r: OpResult) => r.eventsPerSec === undefined && r.p50Ms < 0.05;
      const growth =
        first === undefined || last === undefined || first === last
          ? '—'
          : tiny(first) || tiny(last)
            ? 'under 0.05 ms'
            : `${(plotted(last) / plotted(first)).toFixed(2)}×`;
      lines.push(`| ${adapter} | ${op} | ${cells.join(' | ')} | ${growth} |`);
    }
  }
  lines.push('', '"largest ÷ smallest": p50 (read-all: time per event) at the largest size over the smallest; about 1 is flat.', '');
  const scenarios = [...new Set(report.ops.filter((r) => r.scenario !== undefined).map((r) => r.scenario as string))];
  lines.push('## Queue', '', 'p50 / p99 in ms. Each scenario is a queue of its own in the one messages table (earlier ones stay).', '');
  lines.push(`| adapter | operation | ${scenarios.join(' | ')} |`, `|---|---|${scenarios.map(() => '---:|').join('')}`);
  for (const adapter of ['postgres', 'sqlite']) {
    const ops = [...new Set(report.ops.filter((r) => r.adapter === adapter && r.scenario !== undefined).map((r) => r.op))];
    for (const op of ops) {
      const cells = scenarios.map((s) => {
        const r = report.ops.find((x) => x.adapter === adapter && x.scenario === s && x.op === op);
        return r === undefined ? '—' : `${r.p50Ms} / ${r.p99Ms}`;
      });
      lines.push(`| ${adapter} | ${op} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  if (report.notes.length > 0) lines.push('## Notes', '', ...report.notes.map((x) => `- ${x}`), '');
  lines.push(
    '## Query plans',
    '',
    'PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)` of the statements the adapter runs, parameters filled, each in a transaction rolled back; ' +
      'SQLite: `EXPLAIN QUERY PLAN`. Events at the largest size, queue statements with the large queues.',
    '',
  );
  for (const p of report.plans) {
    lines.push(`### ${p.adapter}, ${p.context}`, '', '```sql', p.statement.replace(/\s+/g, ' ').trim(), '```', '', '```', p.plan, '```', '');
  }
  const md = lines.join('\n');
  writeFileSync(join(dir, `${base}.md`), md);
  return md;
}

// `node --import tsx src/scale-report.ts results/scale.json`: draws the Markdown and the plot again from a run's JSON.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: scale-report.ts <results/scale.json>');
  writeScaleReport(JSON.parse(readFileSync(file, 'utf8')) as ScaleReport, dirname(file), basename(file, '.json'));
}
