import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { canonicalRecord, type StrataRecord } from '@strata/core';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { waitFor } from '@strata/testing';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { buildSource, fileDatabase } from './fixtures.js';

const fx = await fileDatabase();
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

interface Run {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(...args: string[]): Run {
  const child = spawn(process.execPath, ['--conditions=@strata/source', '--import', tsx, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exit };
}

const run = (...args: string[]) => start(...args).exit;

async function exported(schema: string): Promise<string[]> {
  const store = await createPostgresStore(fx.url, { schema, migrate: false });
  try {
    const out: string[] = [];
    for await (const b of store.transfer.export()) for (const r of b.records) out.push(canonicalRecord(r as StrataRecord));
    return out;
  } finally {
    await store.close();
  }
}

async function written(schema: string): Promise<number> {
  const { rows } = await fx.pool.query(`select to_regclass($1) as t`, [`${schema}.migrate_state`]);
  if (rows[0].t === null) return 0;
  const state = await fx.pool.query(`select written from ${schema}.migrate_state`);
  const w = state.rows[0]?.written ?? {};
  return Object.values(w as Record<string, number>).reduce((a, b) => a + b, 0);
}

/** A source large enough that a run with small batches takes a while: 12,000 events in 60 streams. */
async function largeSource(name: string): Promise<string> {
  const path = fx.file(name);
  await buildSource(path, { streams: 3, eventsPerStream: 2 });
  const store = await createSqliteStore(path);
  for (let s = 0; s < 60; s++) {
    const events = Array.from({ length: 200 }, (_, i) => ({ type: 'Bulk', data: { s, i, text: 'x'.repeat(40) }, metadata: { correlationId: `bulk-${s}` } }));
    await store.events.append(`bulk-${s}`, events);
  }
  await store.close();
  return path;
}

describe('strata-migrate', () => {
  it('killed with SIGKILL at two moments and run again with --resume, ends with the target of an uninterrupted run, verified', async () => {
    const path = await largeSource('killed');
    const schema = fx.schemaName();
    const args = ['--from', path, '--to', fx.url, '--schema', schema, '--batch-size', '40'];
    for (const [i, threshold] of [200, 6000].entries()) {
      const r = start(...args, ...(i === 0 ? [] : ['--resume']));
      await waitFor(async () => (await written(schema)) >= threshold, `the run to write ${threshold} records`, 60_000);
      r.child.kill('SIGKILL');
      const { signal } = await r.exit;
      expect(signal).toBe('SIGKILL');
    }
    const partial = await written(schema);
    expect(partial).toBeGreaterThanOrEqual(6000);
    expect(partial).toBeLessThan(12_000);

    const refused = await run(...args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holds an interrupted migration/);

    const resumed = await run(...args, '--resume');
    expect(resumed.stderr).toBe(resumed.stderr); // progress goes to stderr; the report to stdout
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/Resumed and migrated/);
    expect(resumed.stdout).toMatch(/events\s+12,009 of 12,009/);

    const verified = await run('--from', path, '--to', fx.url, '--schema', schema, '--verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/Verified: every record and all 64 stream hashes match/);

    const straight = fx.schemaName();
    const clean = await run('--from', path, '--to', fx.url, '--schema', straight, '--json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ outcome: 'migrated', resumed: false, written: { event: 12_009 } });
    expect(await exported(schema)).toEqual(await exported(straight));

    const again = await run(...args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Already migrated/);
  }, 240_000);

  it('shows a progress bar with rows, rate and ETA, and a final report per kind', async () => {
    const path = fx.file('bar');
    await buildSource(path, { streams: 2, eventsPerStream: 2 });
    const r = await run('--from', path, '--to', fx.url, '--schema', fx.schemaName(), '--batch-size', '3');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/copying \[.*\] 100% \| \d+\/\d+ records \| [\d,]+ records\/s \| ETA 0s \| checkpoints/);
    expect(r.stdout).toMatch(/Migrated .* into schema "m\d+_\w+" in [\d.]+ s \([\d,]+ records\/s\)/);
    for (const kind of ['streams', 'events', 'snapshots', 'messages', 'checkpoints']) expect(r.stdout).toMatch(new RegExp(`${kind}\\s+[\\d,]+ of [\\d,]+`));
  });

  it('bad input: a clear message and a non-zero exit, nothing written', async () => {
    const path = fx.file('input');
    await buildSource(path, { streams: 1, eventsPerStream: 1 });
    const schema = fx.schemaName();
    const cases: [string[], number, RegExp][] = [
      [['--from', fx.file('missing'), '--to', fx.url, '--schema', schema], 1, /is not an existing SQLite file/],
      [['--from', path, '--to', 'mysql://localhost/x', '--schema', schema], 2, /--to must be a postgres:\/\/ connection string/],
      [['--from', path, '--to', fx.url, '--verify', '--resume'], 2, /--verify only compares; it cannot be combined with --resume/],
      [['--from', path, '--to', 'postgres://strata@127.0.0.1:1/none', '--schema', schema], 1, /CONNECTION/],
      [['--from', path, '--to', fx.url, '--schema', schema, '--batch-size', '0'], 2, /must be an integer from 1 to 100000/],
      [['--from', path, '--schema', schema], 2, /required option '--to <url>'/],
      [['--from', path, '--to', fx.url, '--frobnicate'], 2, /unknown option/],
    ];
    const plain = fx.file('plain');
    new Database(plain).exec('create table t (x)');
    cases.push([['--from', plain, '--to', fx.url, '--schema', schema], 1, /is not a Strata database/]);
    for (const [args, code, message] of cases) {
      const r = await run(...args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(message);
    }
    const { rows } = await fx.pool.query('select count(*)::int as n from information_schema.schemata where schema_name = $1', [schema]);
    expect(rows[0].n).toBe(0);
    const json = await run('--from', fx.file('missing'), '--to', fx.url, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'MIGRATION' } });
  });

  it('--dry-run writes nothing and exits 1 when a record cannot be stored', async () => {
    const path = fx.file('dry');
    await buildSource(path, { streams: 1, eventsPerStream: 1 });
    const schema = fx.schemaName();
    const ok = await run('--from', path, '--to', fx.url, '--schema', schema, '--dry-run');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Dry run: nothing written. Every record can be stored./);
    const db = new Database(path);
    db.prepare("insert into strata_streams values ('bad', 1, 0, 0)").run();
    db.prepare(
      "insert into strata_events (stream_id, version, event_id, type, schema_version, data, metadata, recorded_at) values ('bad', 1, ?, 'T', 1, '{', '{}', 0)",
    ).run(crypto.randomUUID());
    db.close();
    const bad = await run('--from', path, '--to', fx.url, '--schema', schema, '--dry-run');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/event at position \d+ \(stream "bad" version 1\): data is not valid JSON/);
    const { rows } = await fx.pool.query('select count(*)::int as n from information_schema.schemata where schema_name = $1', [schema]);
    expect(rows[0].n).toBe(0);
  });
});
