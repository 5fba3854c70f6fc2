import { existsSync } from 'node:fs';
import { MigrationError, ValidationError } from '@strata/core';
import { type AnyPgDatabase, createPostgresStore, type PostgresStore } from '@strata/postgres';
import { createSqliteStore, MIGRATIONS, type SqliteStore } from '@strata/sqlite';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';

/** Where a migration reads: a SQLite file's path, or a better-sqlite3 connection the caller owns. */
export type MigrationSource = string | Database.Database;

/**
 * Where a migration writes: a PostgreSQL connection string, a node-postgres `Pool`, or a Drizzle
 * PostgreSQL database (node-postgres, PGlite, …). The caller keeps owning a pool or database given.
 */
export type MigrationTarget = string | pg.Pool | AnyPgDatabase;

/** A store the migration opened, with what closing it takes. */
export interface Opened<S> {
  readonly store: S;
  close(): Promise<void>;
}

/** The SQLite source: its store, and its connection for the checks that span records. */
export interface OpenedSource extends Opened<SqliteStore> {
  readonly client: Database.Database;
}

function isPool(value: unknown): value is pg.Pool {
  return value instanceof pg.Pool || (typeof value === 'object' && value !== null && 'totalCount' in value && 'connect' in value && !('select' in value));
}

/**
 * Opens the SQLite source, read-only when given a path: nothing is written to it, not even its journal
 * mode. A path must name an existing Strata database whose schema is up to date: a missing file is not
 * created, and a SQLite file Strata never migrated is refused rather than turned into one.
 *
 * @throws `MIGRATION` when the file is missing, not a Strata database, or of an older Strata schema
 */
export async function openSource(source: MigrationSource): Promise<OpenedSource> {
  if (typeof source === 'string') {
    if (source === '' || source === ':memory:' || !existsSync(source)) {
      throw new MigrationError(`the source ${JSON.stringify(source)} is not an existing SQLite file`);
    }
    let client: Database.Database;
    try {
      client = new Database(source, { fileMustExist: true, readonly: true });
    } catch (error) {
      throw new MigrationError(`the source ${JSON.stringify(source)} cannot be opened as a SQLite database`, { cause: safeError(error) });
    }
    try {
      assertStrataDatabase(client, source);
    } catch (error) {
      client.close();
      throw error;
    }
    const store = await createSqliteStore(client, { migrate: false });
    return {
      store,
      client,
      async close() {
        await store.close();
        client.close();
      },
    };
  }
  if (typeof source !== 'object' || source === null || typeof (source as Database.Database).prepare !== 'function') {
    throw new ValidationError('options.from', 'must be a SQLite file path or a better-sqlite3 database');
  }
  assertStrataDatabase(source, 'the given database');
  const store = await createSqliteStore(source, { migrate: false });
  return { store, client: source, close: () => store.close() };
}

function assertStrataDatabase(client: Database.Database, name: string): void {
  let found: unknown;
  try {
    found = client.prepare("select 1 from sqlite_master where type = 'table' and name = '__strata_migrations'").get();
  } catch (error) {
    throw new MigrationError(`the source ${JSON.stringify(name)} cannot be read as a SQLite database`, { cause: safeError(error) });
  }
  if (found === undefined) throw new MigrationError(`the source ${JSON.stringify(name)} is not a Strata database (it has no __strata_migrations table)`);
  const { n } = client.prepare('select count(*) as n from __strata_migrations').get() as { n: number };
  if (n < MIGRATIONS.length) {
    throw new MigrationError(
      `the source ${JSON.stringify(name)} has an older Strata schema (${n} of ${MIGRATIONS.length} migrations): open it once with this version's createSqliteStore() to bring it up to date, then migrate`,
    );
  }
}

/** A driver error reduced to its class, code and message: never bound values. */
function safeError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error('unknown error');
  const safe = new Error(error.message);
  safe.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(safe, { code });
  return safe;
}

/**
 * Opens the PostgreSQL target's store in `schema`, applying Strata's migrations unless `migrate` is
 * false (a dry run writes nothing).
 */
export async function openTarget(target: MigrationTarget, schema: string, migrate: boolean): Promise<Opened<PostgresStore>> {
  if (typeof target === 'string') {
    if (!/^postgres(ql)?:\/\//.test(target))
      throw new ValidationError('options.to', 'must be a postgres:// connection string, a pg Pool or a Drizzle database');
    const store = await createPostgresStore(target, { schema, migrate, notify: false });
    return { store, close: () => store.close() };
  }
  if (isPool(target)) {
    const store = await createPostgresStore(drizzle(target), { schema, migrate, notify: false });
    return { store, close: () => store.close() };
  }
  if (typeof target !== 'object' || target === null || typeof (target as { execute?: unknown }).execute !== 'function') {
    throw new ValidationError('options.to', 'must be a postgres:// connection string, a pg Pool or a Drizzle database');
  }
  const store = await createPostgresStore(target as AnyPgDatabase, { schema, migrate, notify: false });
  return { store, close: () => store.close() };
}
