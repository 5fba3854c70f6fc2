import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, fileResources, fingerprint, seed } from './fixtures.js';

const fx = await fileResources();
const run = promisify(execFile);

/** One command of each kind, destructive ones with --yes: each must refuse a bad database the same way. */
const commands: string[][] = [
  ['schema', 'status'],
  ['streams', 'list'],
  ['streams', 'show', 'order-1'],
  ['events', 'tail'],
  ['queue', 'stats', 'jobs'],
  ['queue', 'peek', 'jobs'],
  ['queue', 'dead-letters', 'mail'],
  ['queue', 'redrive', 'mail', '--yes'],
  ['queue', 'purge', 'jobs', '--yes'],
  ['consumers', 'list'],
  ['consumers', 'lag'],
  ['consumers', 'reset', 'idle', '--yes'],
];

/** A file's bytes and modification time, to prove a refused command left it alone. */
const stamp = (path: string) => ({ bytes: readFileSync(path).toString('base64'), mtime: statSync(path).mtimeMs });

describe('a SQLite file that is not an up-to-date Strata database', () => {
  const text = join(fx.dir, 'notes.txt');
  const plain = join(fx.dir, 'plain.db');
  const missing = join(fx.dir, 'missing.db');
  beforeAll(() => {
    writeFileSync(text, 'not a database\n');
    const db = new Database(plain);
    db.exec("create table customers (id integer primary key, name text); insert into customers (name) values ('Ada')");
    db.close();
  });

  it.each([
    ['a text file', text, /"[^"]*notes\.txt" is not a SQLite database \(file is not a database\)/],
    ['a plain SQLite file with another table', plain, /"[^"]*plain\.db" is not a Strata database \(no __strata_migrations table\)/],
  ])('%s: every command refuses with exit 1 and the file is unchanged', async (_, path, message) => {
    const before = stamp(path);
    for (const args of commands) {
      const r = await cli([...args, '--db', path]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(r.stderr).toMatch(message);
    }
    const migrate = await cli(['schema', 'migrate', '--db', path]);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toMatch(path === plain ? /holds 1 table\(s\) but no Strata schema; .* pass --init/ : /is not a SQLite database/);
    expect(stamp(path)).toEqual(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('a missing file: refused, and not created; schema migrate creates it, --init adopts a plain file', async () => {
    for (const args of commands) {
      const r = await cli([...args, '--db', missing]);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(/no SQLite database at "[^"]*missing\.db": the file does not exist/);
    }
    expect(existsSync(missing)).toBe(false);
    const created = await cli(['schema', 'migrate', '--db', missing, '--json']);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ applied: ['0000_init'] });
    expect((await cli(['schema', 'status', '--db', missing])).code).toBe(0);

    const adopted = join(fx.dir, 'adopted.db');
    const db = new Database(adopted);
    db.exec('create table customers (id integer primary key)');
    db.close();
    expect((await cli(['schema', 'migrate', '--db', adopted, '--init'])).code).toBe(0);
    expect((await cli(['streams', 'list', '--db', adopted])).stdout).toBe('No streams.\n');
  });

  it('an older Strata schema: refused with a pointer to schema migrate; status exits 1', async () => {
    const old = join(fx.dir, 'old.db');
    await (await createSqliteStore(old)).close();
    const db = new Database(old);
    db.exec('delete from __strata_migrations');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const before = stamp(old);
    const r = await cli(['queue', 'purge', 'jobs', '--yes', '--db', old]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has an older Strata schema \(0 of 1 migrations applied\): run `strata schema migrate` first/);
    const status = await cli(['schema', 'status', '--db', old, '--json']);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ upToDate: false, migrations: [{ tag: '0000_init', state: 'pending' }] });
    expect(stamp(old)).toEqual(before);
  });
});

describe('PostgreSQL: a wrong URL, a schema without Strata', () => {
  it('a port nobody listens on: a clear message within the connect timeout, exit 1', async () => {
    const url = 'postgres://strata:secret-password@127.0.0.1:1/app';
    for (const args of [
      ['schema', 'status'],
      ['schema', 'migrate'],
      ['queue', 'purge', 'jobs', '--yes'],
      ['consumers', 'list'],
    ]) {
      const started = Date.now();
      const r = await cli([...args, '--db', url]);
      expect(Date.now() - started).toBeLessThan(6000);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(/^strata: cannot connect to postgres:\/\/127\.0\.0\.1:1\/app schema strata: connect ECONNREFUSED/);
      expect(r.stderr).not.toMatch(/secret-password/);
    }
  });

  it('a server that stops answering queries: every command gives up after --timeout, exit 1', async () => {
    const store = await createPostgresStore(fx.url, { schema: 'cli_locked' });
    const holder = new pg.Client({ connectionString: fx.url });
    await holder.connect();
    try {
      // A session that holds every table of the schema: each query of the CLI waits on it.
      await holder.query('begin');
      await holder.query('lock table cli_locked.__strata_migrations in access exclusive mode');
      for (const args of [
        ['schema', 'status'],
        ['consumers', 'list'],
      ]) {
        const started = Date.now();
        const r = await cli([...args, '--db', fx.url, '--schema', 'cli_locked', '--timeout', '1']);
        expect(Date.now() - started).toBeLessThan(5000);
        expect({ args, code: r.code }).toEqual({ args, code: 1 });
        expect(r.stderr).toMatch(/did not answer a query within 1 s \(--timeout sets it\)|canceling statement due to statement timeout/);
      }
    } finally {
      await holder.query('rollback');
      await holder.end();
      await store.close();
    }
  });

  it('a schema Strata never migrated: refused, and not created; another schema with a store stays unchanged', async () => {
    const pool = new pg.Pool({ connectionString: fx.url });
    const store = await createPostgresStore(fx.url, { schema: 'cli_real' });
    try {
      await seed(store);
      const before = await fingerprint(store);
      for (const args of commands.filter((a) => a[1] !== 'status')) {
        const r = await cli([...args, '--db', fx.url, '--schema', 'cli_none']);
        expect({ args, code: r.code }).toEqual({ args, code: 1 });
        expect(r.stderr).toMatch(
          /schema "cli_none" of postgres:\/\/\S+ is not a Strata database \(no __strata_migrations table\): create one with `strata schema migrate`/,
        );
      }
      const status = await cli(['schema', 'status', '--db', fx.url, '--schema', 'cli_none']);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/\d of \d migration\(s\) not applied: run `strata schema migrate`/);
      const { rows } = await pool.query("select count(*)::int as n from information_schema.schemata where schema_name = 'cli_none'");
      expect(rows[0].n).toBe(0);
      expect(await fingerprint(store)).toBe(before);

      const migrated = await cli(['schema', 'migrate', '--db', fx.url, '--schema', 'cli_none']);
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toMatch(/schema cli_none: applied \d+ migration\(s\): 0000_init/);
      expect((await cli(['consumers', 'list', '--db', fx.url, '--schema', 'cli_none'])).stdout).toBe('No consumers.\n');
    } finally {
      await store.close();
      await pool.end();
    }
  });
});

describe('bad arguments: exit 2, with usage', () => {
  it.each([
    [['streams', 'list', '--db', 'x.db', '--limit', '0'], /must be an integer from 1 to 1000000/],
    [['streams', 'list', '--db', 'x.db', '--frobnicate'], /unknown option '--frobnicate'/],
    [['streams', 'lis', '--db', 'x.db'], /unknown command 'lis'/],
    [['consumers', 'rebuild', 'p', '--db', 'x.db'], /required option '--module <path>' not specified/],
    [['consumers', 'reset', 'p', '--to', '-1', '--db', 'x.db'], /--to must be a position/],
    [['queue', 'stats'], /missing required argument 'queue'/],
    [['queue', 'stats', 'jobs'], /no database given: pass --db <postgres-url \| sqlite-path> or set STRATA_DB/],
    [['queue', 'stats', 'jobs', '--db', 'mysql://localhost/app'], /--db must be a postgres:\/\/ URL or the path of a SQLite file/],
    [['queue', 'stats', 'jobs', '--db', 'postgres://localhost/app', '--schema', 'bad-name'], /--schema "bad-name" is not a plain SQL identifier/],
    [['queue', 'stats', 'jobs', '--db', 'x.db', '--schema', 's'], /--schema applies to PostgreSQL only/],
    [['queue', 'stats', 'jobs', '--db', 'x.db', '--timeout', '5'], /--timeout applies to PostgreSQL only/],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it.each(['strata:hunter2@db.internal:5432/app', 'postgres:/strata:hunter2@db.internal/app'])(
    'a PostgreSQL URL without its postgres:// (%s): refused, its password not echoed, no file created',
    async (db) => {
      for (const args of [
        ['queue', 'stats', 'jobs', '--json'],
        ['schema', 'migrate'],
      ]) {
        const r = await cli([...args, '--db', db], {});
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/looks like a PostgreSQL URL without its postgres:\/\/ prefix/);
        expect(r.stderr + r.stdout).not.toContain('hunter2');
        expect(existsSync(db)).toBe(false);
      }
    },
  );

  it('STRATA_DB stands for --db; --help exits 0', async () => {
    const path = join(fx.dir, 'env.db');
    expect((await cli(['schema', 'migrate'], { env: { STRATA_DB: path } })).code).toBe(0);
    expect((await cli(['streams', 'list'], { env: { STRATA_DB: path } })).stdout).toBe('No streams.\n');
    const help = await cli(['queue', '--help']);
    expect(help.code).toBe(0);
    for (const sub of ['stats', 'peek', 'dead-letters', 'redrive', 'purge']) expect(help.stdout).toMatch(new RegExp(`\\n  ${sub} \\[options\\] <queue>`));
  });
});

describe('the built bin', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const bin = join(root, 'dist/bin.js');
  beforeAll(async () => {
    // `pnpm test` on a fresh clone runs before any build; CI builds first (pnpm typecheck).
    if (!existsSync(bin)) await run(process.execPath, [join(root, '../../node_modules/typescript/bin/tsc'), '-b', root]);
  }, 120_000);

  it('runs through its shebang: --help, a command on a SQLite file, its exit codes', async () => {
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const help = await run(process.execPath, [bin, '--help']);
    expect(help.stdout).toMatch(/^Usage: strata \[options\] \[command\]/);
    const path = join(fx.dir, 'bin.db');
    const store = await createSqliteStore(path);
    await seed(store);
    await store.close();
    const stats = await run(process.execPath, [bin, 'queue', 'stats', 'jobs', '--db', path, '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({ queue: 'jobs', ready: 2, inFlight: 1, delayed: 1 });
    const refused = await run(process.execPath, [bin, 'queue', 'purge', 'jobs', '--db', path]).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/no terminal to ask on, so pass --yes/) });
    const usage = await run(process.execPath, [bin, 'queue', 'stats']).catch((e: { code: number }) => e);
    expect(usage).toMatchObject({ code: 2 });
  });

  /** Runs the bin, sends it SIGTERM after `afterMs`, and resolves with its exit code and how long it took after the signal. */
  const terminated = (args: string[], afterMs: number) =>
    new Promise<{ code: number | null; ms: number }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore' });
      let sentAt = 0;
      const timer = setTimeout(() => {
        sentAt = Date.now();
        child.kill('SIGTERM');
      }, afterMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, ms: Date.now() - sentAt });
      });
    });

  it('SIGTERM ends a follow at once and any other command within its 3 s grace', async () => {
    const path = join(fx.dir, 'signals.db');
    const sqlite = await createSqliteStore(path);
    await seed(sqlite);
    await sqlite.close();
    const follow = await terminated(['events', 'tail', '--follow', '--db', path], 1500);
    expect(follow.code).toBe(0);
    expect(follow.ms).toBeLessThan(2000);

    // A query waiting on a lock (with a long --timeout): the grace ends it.
    const store = await createPostgresStore(fx.url, { schema: 'cli_signal' });
    const holder = new pg.Client({ connectionString: fx.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table cli_signal.__strata_migrations in access exclusive mode');
      const stuck = await terminated(['consumers', 'list', '--db', fx.url, '--schema', 'cli_signal', '--timeout', '60'], 1500);
      expect(stuck.code).toBe(130);
      expect(stuck.ms).toBeLessThan(4500);
    } finally {
      await holder.query('rollback');
      await holder.end();
      await store.close();
    }
  });
});
