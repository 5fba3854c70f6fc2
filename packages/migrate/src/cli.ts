#!/usr/bin/env node
/**
 * The `strata-migrate` command: moves a Strata SQLite database into PostgreSQL with a progress bar, or
 * checks an earlier migration. Exit codes: 0 done, 1 refused or failed, 2 bad arguments, 3 the
 * verification found differences, 130 interrupted (run again with `--resume`).
 *
 * @module
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isStrataError, RECORD_KINDS, type RecordCounts } from '@strata/core';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { type MigrationProgress, type MigrationReport, migrate } from './migrate.js';
import { type VerificationReport, verifyMigration } from './verify.js';

interface Flags {
  from: string;
  to: string;
  schema: string;
  batchSize: number;
  dryRun?: boolean;
  verify?: boolean;
  resume?: boolean;
  skipUnstorable?: string;
  json?: boolean;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be an integer from 1 to 100000');
  return n;
}

const number = (n: number) => n.toLocaleString('en-US');

function countsTable(source: RecordCounts, written: RecordCounts, skipped: RecordCounts): string {
  return RECORD_KINDS.map((k) => {
    const s = skipped[k] > 0 ? `, ${number(skipped[k])} skipped` : '';
    return `  ${`${k}s`.padEnd(12)}${number(written[k]).padStart(12)} of ${number(source[k])}${s}`;
  }).join('\n');
}

function describeMigration(r: MigrationReport, flags: Flags): string {
  const seconds = (r.durationMs / 1000).toFixed(1);
  const head =
    r.outcome === 'dry-run'
      ? `Dry run: nothing written. ${r.problemCount === 0 ? 'Every record can be stored.' : `${number(r.problemCount)} record problem(s) would stop the run:`}`
      : r.outcome === 'already-migrated'
        ? `Already migrated into schema "${flags.schema}": nothing to do.`
        : `${r.resumed ? 'Resumed and migrated' : 'Migrated'} ${flags.from} into schema "${flags.schema}" in ${seconds} s (${number(r.recordsPerSecond)} records/s).`;
  const problems = r.problems.slice(0, 20).map((p) => `  - ${p.key}: ${p.field} ${p.reason}`);
  const lines = [head];
  if (r.outcome === 'dry-run') lines.push(...problems, 'Source records:', countsTable(r.source, r.source, r.skipped));
  else lines.push(countsTable(r.source, r.written, r.skipped));
  const left = RECORD_KINDS.reduce((n, k) => n + r.skipped[k], 0);
  if (left > 0)
    lines.push(`Left out ${number(left)} record(s) over ${number(r.problemCount)} problem(s); they are in ${flags.skipUnstorable ?? 'the report file'}.`);
  if (r.verification !== undefined) lines.push(describeVerification(r.verification));
  return lines.join('\n');
}

function describeVerification(v: VerificationReport): string {
  const lines = [
    v.ok
      ? `Verified: every record and all ${number(v.streamsCompared)} stream hashes match (${(v.durationMs / 1000).toFixed(1)} s).`
      : `Verification FAILED: ${number(v.mismatchCount)} record(s) and ${number(v.streamMismatchCount)} stream hash(es) differ.`,
  ];
  if (v.excluded > 0)
    lines.push(`${number(v.excluded)} source record(s) were left out by the migration on purpose (--skip-unstorable) and are not counted as differences.`);
  if (v.migration === 'interrupted') lines.push('The migration into this schema is interrupted: run it again with --resume, then verify.');
  if (v.migration === 'none') lines.push('No migration wrote this schema.');
  if (!v.ok && v.migration === 'finished')
    lines.push('If the application already wrote to the target, differences are expected: verify before switching it over.');
  for (const k of RECORD_KINDS)
    lines.push(`  ${`${k}s`.padEnd(12)}${number(v.counts[k].source).padStart(12)} source ${number(v.counts[k].target).padStart(12)} target`);
  for (const m of v.mismatches.slice(0, 20)) lines.push(`  - ${m.key}: ${m.issue}`);
  for (const s of v.streamMismatches) lines.push(`  - stream ${JSON.stringify(s)}: hash differs`);
  return lines.join('\n');
}

const json = (value: unknown) => JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);

/** A progress bar on stderr: redrawn in place on a terminal, a line every few seconds elsewhere. */
/** What the bar shows: a migration's progress, or a verification's. */
type BarState = Pick<MigrationProgress, 'done' | 'total' | 'recordsPerSecond' | 'etaMs'> & { phase: string; kind: string };

function progressBar(enabled: boolean) {
  if (!enabled) return { update: (_: BarState) => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} [{bar}] {percentage}% | {value}/{total} records | {rate} records/s | ETA {left} | {kind}',
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p: BarState) {
      const eta = p.etaMs === undefined ? '–' : `${Math.max(0, Math.round(p.etaMs / 1000))}s`;
      const payload = { phase: p.phase, kind: `${p.kind}s`, rate: number(Math.round(p.recordsPerSecond)), left: eta };
      if (!started) {
        bar.start(p.total, p.done, payload);
        started = true;
      } else {
        bar.setTotal(p.total);
        bar.update(p.done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/**
 * Runs the command with `argv` (as `process.argv`), writing to stdout and stderr.
 *
 * @returns the exit code
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('strata-migrate')
    .description('Move a Strata SQLite database into PostgreSQL with nothing lost, or check an earlier migration.')
    .requiredOption('--from <file>', 'the Strata SQLite database to read')
    .requiredOption('--to <url>', 'the PostgreSQL connection string to write to (postgres://…)')
    .option('--schema <name>', 'the PostgreSQL schema', 'strata')
    .option('--batch-size <n>', 'records per batch (one transaction each)', positiveInteger, 2000)
    .option('--dry-run', 'read everything and report problems, writing nothing')
    .option('--verify', 'only compare source and target (counts, every record, a hash per stream); writes nothing')
    .option('--resume', 'continue an interrupted migration')
    .option('--skip-unstorable <report>', 'leave out records PostgreSQL cannot store, writing them in full to this JSON-lines file')
    .option('--json', 'print the final report as JSON, and no progress bar')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  try {
    program.parse(argv as string[]);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const flags = program.opts<Flags>();
  if (flags.verify === true) {
    const conflicting = (['dryRun', 'resume', 'skipUnstorable'] as const).filter((f) => flags[f] !== undefined);
    if (conflicting.length > 0) {
      const names = { dryRun: '--dry-run', resume: '--resume', skipUnstorable: '--skip-unstorable' };
      process.stderr.write(`strata-migrate: --verify only compares; it cannot be combined with ${conflicting.map((f) => names[f]).join(', ')}\n`);
      return 2;
    }
  }
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const bar = progressBar(flags.json !== true);
  try {
    if (flags.verify === true) {
      const started = performance.now();
      const report = await verifyMigration({
        from: flags.from,
        to: flags.to,
        schema: flags.schema,
        batchSize: flags.batchSize,
        signal: controller.signal,
        onProgress: (compared, total) => {
          const elapsedMs = performance.now() - started;
          const rate = elapsedMs > 0 ? (compared / elapsedMs) * 1000 : 0;
          bar.update({
            phase: 'verifying',
            kind: 'record',
            done: compared,
            total,
            recordsPerSecond: rate,
            etaMs: rate > 0 ? ((total - compared) / rate) * 1000 : undefined,
          });
        },
      });
      bar.stop();
      process.stdout.write(`${flags.json === true ? json(report) : describeVerification(report)}\n`);
      return report.ok ? 0 : 3;
    }
    const report = await migrate({
      from: flags.from,
      to: flags.to,
      schema: flags.schema,
      batchSize: flags.batchSize,
      dryRun: flags.dryRun === true,
      resume: flags.resume === true,
      ...(flags.skipUnstorable === undefined ? {} : { skipUnstorableTo: flags.skipUnstorable }),
      signal: controller.signal,
      onProgress: (p) => bar.update(p),
    });
    bar.stop();
    process.stdout.write(`${flags.json === true ? json(report) : describeMigration(report, flags)}\n`);
    return report.outcome === 'dry-run' && report.problemCount > 0 ? 1 : 0;
  } catch (error) {
    bar.stop();
    // The library names its options; on the command line they are flags.
    const text = (error instanceof Error ? error.message : String(error))
      .replace(/\boptions\.to\b/g, '--to')
      .replace('a postgres:// connection string, a pg Pool or a Drizzle database', 'a postgres:// connection string')
      .replace('run it again with --resume (resume: true)', 'run it again with --resume')
      .replace('resume (--resume)', '--resume')
      .replace(/\boptions\.from\b/g, '--from')
      .replace(/\boptions\.schema\b/g, '--schema')
      .replace(/\boptions\.batchSize\b/g, '--batch-size')
      .replace(
        'skip such records (with their streams) into a report file',
        'skip such records (with their streams) into a report file with --skip-unstorable <file>',
      );
    const code = isStrataError(error) ? error.code : controller.signal.aborted ? 'MIGRATION' : 'INTERNAL';
    if (flags.json === true) process.stdout.write(`${json({ error: { code, message: text } })}\n`);
    else process.stderr.write(`strata-migrate: ${code}: ${text}\n`);
    if (controller.signal.aborted) return 130;
    return code === 'VALIDATION' ? 2 : 1;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

/** Whether this module is the program node was started with (through npm's bin link or directly). */
function isMain(): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  try {
    return realpathSync(invoked) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`strata-migrate: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
