// Writes docs/mutation/<target>.md from the JSON report of a `pnpm mutation` run
// (reports/mutation/<target>.json): the score table per file and every surviving mutant (file:line,
// mutator, original and mutated code) with the reason it is accepted, taken from
// docs/mutation/equivalent.json; survivors with no reason there are listed as "not accounted for". Mutants in
// code marked out of the suite's reach (`// Stryker disable … : reason`, status Ignored) are grouped by reason.
// `pnpm mutation` runs it after Stryker; alone: `node scripts/mutation-summary.mjs memory|sqlite [--partial]`.
// With --partial (a run of some files only) the summary goes to reports/mutation/<target>-partial.md;
// with --merge the partial run's files replace theirs in reports/mutation/<target>.json first.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = process.argv[2] ?? 'memory';
const merge = process.argv.includes('--merge');
const partial = process.argv.includes('--partial');
const TITLES = { memory: 'the memory adapter (`packages/core/src/memory`)', sqlite: 'the SQLite adapter (`packages/sqlite/src`)' };
if (!(target in TITLES)) throw new Error(`unknown target ${JSON.stringify(target)}: memory or sqlite`);
const wholePath = join(root, `reports/mutation/${target}.json`);
const partialPath = join(root, `reports/mutation/${target}-partial.json`);
const reportPath = partial ? partialPath : wholePath;
const outPath = partial ? join(root, `reports/mutation/${target}-partial.md`) : join(root, `docs/mutation/${target}.md`);
if (merge) {
  // The files of a partial run replace theirs in the whole run's report, which remembers them.
  if (!existsSync(wholePath)) throw new Error(`${wholePath} not found: --merge needs a whole run of ${target} first`);
  const whole = JSON.parse(readFileSync(wholePath, 'utf8'));
  const part = JSON.parse(readFileSync(partialPath, 'utf8'));
  const day = new Date().toISOString().slice(0, 10);
  whole.strataRerun = { ...whole.strataRerun, ...Object.fromEntries(Object.keys(part.files).map((f) => [f, day])) };
  Object.assign(whole.files, part.files);
  writeFileSync(wholePath, JSON.stringify(whole));
}
if (!existsSync(reportPath)) throw new Error(`${reportPath} not found: run \`pnpm mutation ${target}\` first`);
const report = JSON.parse(readFileSync(reportPath, 'utf8'));

/**
 * Accepted survivors: `{ file, line, next?, original, replacement, reason }`, matched on the file, the
 * original and mutated code, and `line`: a piece of the source line the mutant starts on (line numbers
 * move; the same literal can be equivalent on one line and not on another), and `next`, when the line
 * alone is ambiguous: a piece of the line after it.
 */
const equivalent = JSON.parse(readFileSync(join(root, 'docs/mutation/equivalent.json'), 'utf8')).mutants;
const squash = (s) => s.replace(/\s+/g, ' ').trim();
const used = new Set();
const reasonFor = (s) => {
  const entry = equivalent.find(
    (e) => e.file === s.file && s.sourceLine.includes(e.line) && squash(e.original) === squash(s.original) && squash(e.replacement) === squash(s.replacement),
  );
  if (entry !== undefined) used.add(entry);
  return entry;
};

const columns = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'RuntimeError', 'Ignored'];
const empty = () => Object.fromEntries(columns.map((c) => [c, 0]));
const rows = [];
const total = empty();
const survivors = [];
/**
 * Mutants out of the suite's reach, by reason: those Stryker ignored (`// Stryker disable … : reason` in the
 * source) and those listed in equivalent.json with `"outOfReach": true`.
 */
const ignored = new Map();
const ignore = (reason, file, m) => {
  const group = ignored.get(reason) ?? { count: 0, places: new Map() };
  group.count++;
  const lines = group.places.get(file) ?? new Set();
  lines.add(m.location.start.line);
  group.places.set(file, lines);
  ignored.set(reason, group);
};

for (const [file, { source, mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const counts = empty();
  const lines = source.split('\n');
  for (const m of mutants) {
    counts[m.status] = (counts[m.status] ?? 0) + 1;
    total[m.status] = (total[m.status] ?? 0) + 1;
    if (m.status === 'Ignored') ignore((m.statusReason ?? 'no reason given').replace(/^Ignored because of excluded mutation "[^"]*"\.?\s*/, ''), file, m);
    if (m.status === 'Survived' || m.status === 'NoCoverage') {
      const { start, end } = m.location;
      const original =
        start.line === end.line
          ? lines[start.line - 1].slice(start.column - 1, end.column - 1)
          : [lines[start.line - 1].slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1].slice(0, end.column - 1)].join('\n');
      const s = {
        file,
        line: start.line,
        column: start.column,
        sourceLine: lines[start.line - 1],
        nextLine: lines[start.line] ?? '',
        status: m.status,
        mutator: m.mutatorName,
        original,
        replacement: m.replacement,
      };
      const entry = reasonFor(s);
      // Listed as out of the suite's reach (code that no comment can mark, such as a catch block's own
      // braces): counted like the mutants Stryker ignores, not as a survivor.
      if (entry?.outOfReach === true) {
        counts[m.status]--;
        total[m.status]--;
        counts.Ignored++;
        total.Ignored++;
        ignore(entry.reason, file, m);
        continue;
      }
      survivors.push({ ...s, reason: entry?.reason });
    }
  }
  rows.push([file, counts]);
}

/** Stryker's score: detected (killed + timeout) over valid mutants (those that compiled and ran or were not covered). */
const percent = (c) => {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  return valid === 0 ? Number.NaN : (100 * detected) / valid;
};
const score = (c) => (Number.isNaN(percent(c)) ? 'n/a' : `${percent(c).toFixed(2)} %`);
/** The same, counting the mutants marked out of the suite's reach as not detected. */
const scoreOfAll = (c) => score({ ...c, Survived: c.Survived + c.Ignored });
/** `a–b, c` from a set of line numbers. */
const ranges = (set) => {
  const sorted = [...set].sort((a, b) => a - b);
  const out = [];
  for (const n of sorted) {
    const last = out.at(-1);
    if (last !== undefined && n <= last[1] + 3) last[1] = n;
    else out.push([n, n]);
  }
  return out.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(', ');
};
const oneLine = (s) => `\`${squash(s).replace(/`/g, "'").slice(0, 90).replace(/\|/g, '\\|')}\``;
const unaccounted = survivors.filter((s) => s.reason === undefined);

const out = [
  `# Mutation score of ${TITLES[target]} under the conformance suite`,
  '',
  `Generated by \`scripts/mutation-summary.mjs\` on ${new Date().toISOString().slice(0, 10)}${partial ? ' from a partial run' : ''}; see [README.md](README.md).${
    report.strataRerun === undefined
      ? ''
      : ` Files re-run alone since the whole run (\`pnpm mutation ${target} --mutate <file> --merge\`): ${Object.entries(report.strataRerun)
          .map(([f, d]) => `${f.replace(/^packages\//, '')} (${d})`)
          .join(', ')}.`
  }`,
  '',
  `**Score ${score(total)}**; ${survivors.length} survivors, ${survivors.length - unaccounted.length} of them accounted for as equivalent in [equivalent.json](equivalent.json)${unaccounted.length > 0 ? `, **${unaccounted.length} not accounted for**` : ''}.${
    total.Ignored === 0
      ? ''
      : ` ${total.Ignored} more mutants are in code marked out of the suite's reach (listed below, with the tests that cover it instead); counting them as survivors, the score over every mutant is ${scoreOfAll(total)}.`
  }`,
  '',
  "| File | Score | Killed | Timeout | Survived | No coverage | Out of the suite's reach (not counted) | Compile error (not counted) | Runtime error (not counted) |",
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...[...rows, ['**All files**', total]].map(
    ([file, c]) =>
      `| ${file} | ${score(c)} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.Ignored} | ${c.CompileError} | ${c.RuntimeError} |`,
  ),
  '',
  ...(ignored.size === 0
    ? []
    : [
        `## Out of the suite's reach (${total.Ignored})`,
        '',
        'Code that no use of the contracts on a healthy database runs (driver and file failures, corrupted data, the adapter\'s own options, declarations the adapter does not run), marked in the source with `// Stryker disable … : reason` or, where no comment can mark it (a catch block\'s own braces), listed in [equivalent.json](equivalent.json) with `"outOfReach": true`. These mutants are not counted in the score; the headline also gives the score counting them as survivors.',
        '',
        '| Mutants | Where (lines) | Why |',
        '| ---: | --- | --- |',
        ...[...ignored].map(
          ([reason, g]) =>
            `| ${g.count} | ${[...g.places].map(([f, lines]) => `${f.replace(/^packages\//, '')}: ${ranges(lines)}`).join('; ')} | ${reason.replace(/\|/g, '\\|')} |`,
        ),
        '',
      ]),
  `## Surviving mutants (${survivors.length})`,
  '',
  '| Where | Status | Mutator | Original | Mutated | Why it is accepted |',
  '| --- | --- | --- | --- | --- | --- |',
  ...survivors.map(
    (s) =>
      `| ${s.file.replace(/^packages\//, '')}:${s.line}:${s.column} | ${s.status} | ${s.mutator} | ${oneLine(s.original)} | ${oneLine(s.replacement)} | ${s.reason === undefined ? '**not accounted for**' : s.reason.replace(/\|/g, '\\|')} |`,
  ),
  '',
];
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, out.join('\n'));
console.log(`mutation score (${target}): ${score(total)} — ${survivors.length} survivors, ${unaccounted.length} not accounted for; ${outPath}`);
// Entries for a mutated file that no survivor matched: the mutant is killed now, or the code moved.
const stale = equivalent.filter((e) => e.file in report.files && !used.has(e));
for (const e of stale)
  console.warn(
    `docs/mutation/equivalent.json: no survivor matches ${e.file} ${JSON.stringify(e.original)} → ${JSON.stringify(e.replacement)} on a line with ${JSON.stringify(e.line)}`,
  );
// The gate: every survivor accounted for, and (on a whole run) the target score.
const TARGET_SCORE = 90;
if (unaccounted.length > 0) {
  console.error(
    `mutation (${target}): ${unaccounted.length} surviving mutants are neither killed by a conformance case nor listed in docs/mutation/equivalent.json`,
  );
  process.exitCode = 1;
}
if (!partial && !(percent(total) >= TARGET_SCORE)) {
  console.error(`mutation (${target}): the score ${score(total)} is below the target of ${TARGET_SCORE} %`);
  process.exitCode = 1;
}
