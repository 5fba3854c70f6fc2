/**
 * The PostgreSQL dialect of Strata on a Drizzle database the application built, without node-postgres:
 * nothing reachable from this entry references `pg` or a Node.js built-in module, so that a bundler
 * targeting browsers follows no import it cannot resolve. `@strata/pglite` builds its stores here.
 *
 * @example
 * ```ts
 * import { PGlite } from '@electric-sql/pglite'
 * import { createDrizzleStore } from '@strata/postgres/drizzle'
 * import { drizzle } from 'drizzle-orm/pglite'
 *
 * const store = await createDrizzleStore(drizzle(new PGlite()))
 * ```
 *
 * @packageDocumentation
 */
import type { AnyPgDatabase } from './migrate.js';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions, resolveStoreOptions } from './store.js';

export type { AnyPgDatabase } from './migrate.js';
export type { PostgresRowCounts, PostgresStore, PostgresStoreOptions } from './store.js';

/**
 * Creates a Strata store on a Drizzle database the application owns (PGlite, or any Postgres driver
 * Drizzle supports; the store never closes it), without loading node-postgres. Applies the shipped
 * migrations unless `migrate: false`. The pool options (`poolSize`, `connectionTimeoutMs`, `prepareStatements`,
 * `statementTimeoutMs`) only apply to node-postgres pools.
 *
 * For a node-postgres database, prefer `createPostgresStore` from `@strata/postgres`: on a pool given
 * here, `tx.db` inside `store.transaction()` fails with `NOT_SUPPORTED`, since building a Drizzle
 * database on one of the pool's clients needs `drizzle-orm/node-postgres`.
 *
 * @throws `VALIDATION` on bad options or a `db` that is not a Drizzle database (`undefined`, for one);
 *   `CONNECTION` when the database cannot be reached
 */
export async function createDrizzleStore(db: AnyPgDatabase, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  return openPostgresStore(db, resolveStoreOptions(options));
}
