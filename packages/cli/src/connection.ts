import { existsSync, statSync } from 'node:fs';
import { type StrataStore, silentLogger } from '@strata/core';
import {
  type AnyPgDatabase,
  createPostgresStore,
  migrate as migratePostgres,
  MIGRATIONS as PG_MIGRATIONS,
  migrationHash as pgMigrationHash,
  validateSchemaName,
} from '@strata/postgres';
import { createSqliteStore, migrate as migrateSqlite, MIGRATIONS as SQLITE_MIGRATIONS, migrationHash as sqliteMigrationHash } from '@strata/sqlite';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { Failure, UsageError } from './failure.js';

/** How long connecting to PostgreSQL may take before the command gives up. */
export const CONNECT_TIMEOUT_MS = 5000;

/** How long one PostgreSQL query may take (a migration's: {@link MIGRATE_QUERY_TIMEOUT_MS}) before the command gives up. */
export const QUERY_TIMEOUT_MS = 30_000;

/** How long one statement of `schema migrate` may take. */
export const MIGRATE_QUERY_TIMEOUT_MS = 300_000;

/** Hides the password of anything shaped like `scheme://user:password@host` or `user:password@host`. */
export function redact(text: string): string {
  return text.replace(/([a-z0-9+.-]*:\/\/)?([^\s:/@"]+):([^\s@"]+)@/gi, (_m, scheme: string | undefined, user: string) => `${scheme ?? ''}${user}:***@`);
}

/** Where the command works: a PostgreSQL schema or a SQLite file. */
export type Target = { engine: 'postgres'; url: string; schema: string; timeoutSeconds?: number } | { engine: 'sqlite'; path: string };

/** Reads `--db` (or `STRATA_DB`), `--schema` and `--timeout` (seconds, PostgreSQL only). */
export function parseTarget(db: string | undefined, schema: string | undefined, timeoutSeconds?: number): Target {
  if (db === undefined || db === '') throw new UsageError('no database given: pass --db <postgres-url | sqlite-path> or set STRATA_DB');
  if (/^postgres(ql)?:\/\//i.test(db)) {
    try {
      new URL(db);
    } catch {
      throw new UsageError('--db is not a valid postgres:// URL');
    }
    const name = schema ?? 'strata';
    try {
      validateSchemaName(name);
    } catch {
      throw new UsageError(`--schema ${JSON.stringify(name)} is not a plain SQL identifier (letters, digits, underscores; at most 63 characters)`);
    }
    return { engine: 'postgres', url: db, schema: name, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) throw new UsageError('--db must be a postgres:// URL or the path of a SQLite file');
  // A PostgreSQL URL mistyped (no scheme, one slash) must not become a file named after it.
  if (/^[a-z][a-z0-9+.-]*:/i.test(db) && (db.includes('@') || /^postgres(ql)?:/i.test(db))) {
    throw new UsageError(`--db ${JSON.stringify(redact(db))} looks like a PostgreSQL URL without its postgres:// prefix; a SQLite path has no scheme`);
  }
  if (schema !== undefined) throw new UsageError('--schema applies to PostgreSQL only');
  if (timeoutSeconds !== undefined) throw new UsageError('--timeout applies to PostgreSQL only');
  return { engine: 'sqlite', path: db };
}

/** The target for people: a URL without its password, or the file's path. */
export function describeTarget(target: Target): string {
  if (target.engine === 'sqlite') return target.path;
  const u = new URL(target.url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
  return `postgres://${u.host}/${database} schema ${target.schema}`;
}

/** One shipped migration's state in a database. */
export interface MigrationState {
  /** drizzle-kit's tag. */
  tag: string;
  /** `applied`; `pending`; `changed`: applied with other content than this version ships. */
  state: 'applied' | 'pending' | 'changed';
  /** When it was applied, if it was. */
  appliedAt: Date | null;
}

interface AppliedRow {
  id: number;
  hash: string;
  appliedAt: Date;
}

function migrationStates(applied: AppliedRow[], shipped: readonly { idx: number; tag: string; sql: string }[], hash: (s: string) => string): MigrationState[] {
  const byId = new Map(applied.map((r) => [r.id, r]));
  return shipped.map((m) => {
    const row = byId.get(m.idx);
    if (row === undefined) return { tag: m.tag, state: 'pending', appliedAt: null };
    return { tag: m.tag, state: row.hash === hash(m.sql) ? 'applied' : 'changed', appliedAt: row.appliedAt };
  });
}

const safeMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

// ---------------------------------------------------------------------------------------------------
// SQLite

function checkSqliteFile(path: string): void {
  if (path === ':memory:') throw new UsageError('--db :memory: holds nothing: give the path of a SQLite file');
  if (!existsSync(path)) throw new Failure(`no SQLite database at ${JSON.stringify(path)}: the file does not exist`);
  if (!statSync(path).isFile()) throw new Failure(`${JSON.stringify(path)} is not a file`);
}

/** Reads `__strata_migrations`; `null` when the file is SQLite but has no Strata schema. */
function sqliteApplied(client: Database.Database, path: string): AppliedRow[] | null {
  let found: unknown;
  try {
    found = client.prepare("select 1 from sqlite_master where type = 'table' and name = '__strata_migrations'").get();
  } catch (error) {
    throw readFailure(path, error);
  }
  if (found === undefined) return null;
  const rows = client.prepare('select id, hash, applied_at as appliedAt from __strata_migrations order by id').all() as {
    id: number;
    hash: string;
    appliedAt: number;
  }[];
  return rows.map((r) => ({ id: r.id, hash: r.hash, appliedAt: new Date(r.appliedAt) }));
}

function openSqliteClient(path: string, readonly: boolean): Database.Database {
  try {
    return new Database(path, { fileMustExist: true, readonly });
  } catch (error) {
    throw new Failure(`${JSON.stringify(path)} cannot be opened as a SQLite database (${safeMessage(error)})`);
  }
}

/** Why reading a SQLite file failed: its directory may be read-only (a WAL database needs its -shm file). */
function readFailure(path: string, error: unknown): Failure {
  const message = safeMessage(error);
  if (/readonly|read-only|unable to open/i.test(message)) {
    return new Failure(
      `${JSON.stringify(path)} cannot be read here (${message}): a SQLite database in WAL mode needs to create its -shm file beside it, so its directory must be writable; copy the file somewhere writable`,
    );
  }
  return new Failure(`${JSON.stringify(path)} is not a SQLite database (${message})`);
}

function notStrata(where: string): Failure {
  return new Failure(
    `${where} is not a Strata database (no __strata_migrations table): create one with \`strata schema migrate\` (with --init to add Strata's tables to a SQLite file that holds others)`,
  );
}

function outOfDate(where: string, states: MigrationState[]): Failure | undefined {
  const pending = states.filter((s) => s.state !== 'applied');
  if (pending.length === 0) return undefined;
  const changed = pending.filter((s) => s.state === 'changed');
  if (changed.length > 0)
    return new Failure(`${where} has migration(s) applied with other content than this version ships: ${changed.map((s) => s.tag).join(', ')}`);
  return new Failure(
    `${where} has an older Strata schema (${states.length - pending.length} of ${states.length} migrations applied): run \`strata schema migrate\` first`,
  );
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL

function pgPool(target: Extract<Target, { engine: 'postgres' }>, defaultTimeoutMs = QUERY_TIMEOUT_MS): pg.Pool {
  const queryTimeoutMs = target.timeoutSeconds === undefined ? defaultTimeoutMs : target.timeoutSeconds * 1000;
  // Every query is bounded twice: by the server (statement_timeout) and by the driver (query_timeout),
  // which also ends the wait on a server that accepted the login and stopped answering.
  const pool = new pg.Pool({
    connectionString: target.url,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: queryTimeoutMs,
    statement_timeout: queryTimeoutMs,
    application_name: 'strata-cli',
  });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** A connection failure for people: where, and the driver's reason (never the URL's password). */
function connectFailure(target: Target, error: unknown): Failure {
  const code = (error as { code?: unknown }).code;
  let reason = redact(safeMessage(error));
  if (/timeout/i.test(reason)) reason = `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  return new Failure(`cannot connect to ${describeTarget(target)}: ${reason}${typeof code === 'string' && !reason.includes(code) ? ` (${code})` : ''}`);
}

async function pgApplied(pool: pg.Pool, target: Extract<Target, { engine: 'postgres' }>): Promise<AppliedRow[] | null> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw connectFailure(target, error);
  }
  try {
    let rows: { t: string | null }[];
    try {
      ({ rows } = await client.query<{ t: string | null }>('select to_regclass($1) as t', [`"${target.schema}"."__strata_migrations"`]));
    } catch (error) {
      throw queryFailure(target, error);
    }
    if (rows[0]?.t === null || rows[0]?.t === undefined) return null;
    let applied: pg.QueryResult<{ id: number; hash: string; applied_at: Date }>;
    try {
      applied = await client.query<{ id: number; hash: string; applied_at: Date }>(
        `select id, hash, applied_at from "${target.schema}"."__strata_migrations" order by id`,
      );
    } catch (error) {
      throw queryFailure(target, error);
    }
    return applied.rows.map((r) => ({ id: r.id, hash: r.hash, appliedAt: r.applied_at }));
  } finally {
    client.release(true);
  }
}

/** A query that failed or did not answer in time, for people. */
function queryFailure(target: Target, error: unknown): Failure {
  const reason = redact(safeMessage(error));
  return new Failure(
    /timeout|timed out/i.test(reason)
      ? `${describeTarget(target)} did not answer a query within ${target.engine === 'postgres' && target.timeoutSeconds !== undefined ? target.timeoutSeconds : QUERY_TIMEOUT_MS / 1000} s (--timeout sets it)`
      : `a query on ${describeTarget(target)} failed: ${reason}`,
  );
}

// ---------------------------------------------------------------------------------------------------
// What the commands use

/** A store the command opened, and how to close what it opened. */
export interface OpenedStore {
  readonly store: StrataStore;
  close(): Promise<void>;
}

/**
 * Opens the target's store without migrating it: a SQLite file must exist and be a Strata database
 * with an up-to-date schema, a PostgreSQL schema must hold Strata's tables up to date; otherwise the
 * command is refused and nothing is written. `write: false` opens a SQLite file read-only.
 */
export async function openStore(target: Target, options: { write: boolean }): Promise<OpenedStore> {
  if (target.engine === 'sqlite') {
    checkSqliteFile(target.path);
    // The checks run on a read-only connection: closing a read-write one may write (a WAL checkpoint),
    // and a refused command leaves the file exactly as it was.
    const probe = openSqliteClient(target.path, true);
    try {
      const applied = sqliteApplied(probe, target.path);
      if (applied === null) throw notStrata(JSON.stringify(target.path));
      const stale = outOfDate(JSON.stringify(target.path), migrationStates(applied, SQLITE_MIGRATIONS, sqliteMigrationHash));
      if (stale !== undefined) throw stale;
    } catch (error) {
      probe.close();
      throw error;
    }
    if (options.write) probe.close();
    const client = options.write ? openSqliteClient(target.path, false) : probe;
    try {
      const store = await createSqliteStore(client, { migrate: false, logger: silentLogger });
      return {
        store,
        async close() {
          await store.close();
          client.close();
        },
      };
    } catch (error) {
      client.close();
      throw error;
    }
  }
  const pool = pgPool(target);
  try {
    const applied = await pgApplied(pool, target);
    const where = `schema "${target.schema}" of ${describeTarget(target).replace(/ schema \w+$/, '')}`;
    if (applied === null) throw notStrata(where);
    const stale = outOfDate(where, migrationStates(applied, PG_MIGRATIONS, pgMigrationHash));
    if (stale !== undefined) throw stale;
    const store = await createPostgresStore(drizzle(pool) as unknown as AnyPgDatabase, {
      schema: target.schema,
      migrate: false,
      connectionTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    return {
      store,
      async close() {
        await store.close();
        await pool.end();
      },
    };
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** The migrations state of the target, for `schema status`. */
export async function schemaStatus(target: Target): Promise<MigrationState[]> {
  if (target.engine === 'sqlite') {
    checkSqliteFile(target.path);
    const client = openSqliteClient(target.path, true);
    try {
      const applied = sqliteApplied(client, target.path);
      if (applied === null) throw notStrata(JSON.stringify(target.path));
      return migrationStates(applied, SQLITE_MIGRATIONS, sqliteMigrationHash);
    } finally {
      client.close();
    }
  }
  const pool = pgPool(target);
  try {
    return migrationStates((await pgApplied(pool, target)) ?? [], PG_MIGRATIONS, pgMigrationHash);
  } finally {
    await pool.end();
  }
}

/**
 * Applies the shipped migrations: creates the SQLite file (or the PostgreSQL schema) when missing.
 * A SQLite file that holds other tables but no Strata schema is refused unless `init`: Strata's
 * tables may share a database with the application's, but not by accident.
 *
 * @returns the tags applied now
 */
export async function migrateTarget(target: Target, init: boolean): Promise<string[]> {
  if (target.engine === 'sqlite') {
    if (target.path === ':memory:') throw new UsageError('--db :memory: holds nothing: give the path of a SQLite file');
    const exists = existsSync(target.path);
    if (exists && !statSync(target.path).isFile()) throw new Failure(`${JSON.stringify(target.path)} is not a file`);
    if (exists) {
      const probe = openSqliteClient(target.path, true);
      try {
        if (sqliteApplied(probe, target.path) === null) {
          const { n } = probe.prepare("select count(*) as n from sqlite_master where type = 'table'").get() as { n: number };
          if (n > 0 && !init)
            throw new Failure(
              `${JSON.stringify(target.path)} holds ${n} table(s) but no Strata schema; to add Strata's tables to this database anyway, pass --init`,
            );
        }
      } finally {
        probe.close();
      }
    }
    let client: Database.Database;
    try {
      client = new Database(target.path);
    } catch (error) {
      throw new Failure(`cannot create or open the SQLite database ${JSON.stringify(target.path)} (${safeMessage(error)})`);
    }
    try {
      client.pragma('journal_mode = WAL');
      return migrateSqlite(client).applied;
    } finally {
      client.close();
    }
  }
  const pool = pgPool(target, MIGRATE_QUERY_TIMEOUT_MS);
  try {
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      throw connectFailure(target, error);
    }
    const { applied } = await migratePostgres(drizzle(pool) as unknown as AnyPgDatabase, { schema: target.schema, connectionTimeoutMs: CONNECT_TIMEOUT_MS });
    return applied;
  } finally {
    await pool.end();
  }
}
