/**
 * Strata on PGlite: PostgreSQL compiled to WebAssembly, running in process. This package only builds
 * the PGlite instance and hands it to `@strata/postgres`; every query is the Postgres dialect's own, so
 * what passes here passes on a PostgreSQL server. Use it in tests (no server, no Docker), demos and the
 * browser.
 *
 * @example
 * ```ts
 * import { createPgliteStore } from '@strata/pglite'
 *
 * const store = await createPgliteStore() // in memory; pass { dataDir: './data' } to persist
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }])
 * ```
 *
 * @packageDocumentation
 */
import { PGlite } from '@electric-sql/pglite';
import { ConnectionError, isStrataError, ValidationError } from '@strata/core';
import { type AnyPgDatabase, createDrizzleStore, type PostgresStore, type PostgresStoreOptions } from '@strata/postgres/drizzle';
import { drizzle } from 'drizzle-orm/pglite';

/** Options of {@link createPgliteStore}. */
export interface PgliteStoreOptions extends Omit<PostgresStoreOptions, 'poolSize' | 'connectionTimeoutMs' | 'statementTimeoutMs' | 'prepareStatements'> {
  /**
   * Where PGlite keeps its data: `'memory://'`, a directory path (Node.js), or `'idb://name'`
   * (browsers). Ignored when `pglite` is given. @defaultValue `'memory://'`
   */
  dataDir?: string;
  /** A PGlite instance the application owns; the store then never closes it. */
  pglite?: PGlite;
}

/** A Strata store on PGlite. */
export interface PgliteStore extends PostgresStore {
  /** The PGlite instance underneath. */
  readonly pglite: PGlite;
}

/**
 * Creates a Strata store on PGlite: builds the instance (in memory unless `dataDir` says otherwise)
 * or takes the one given, applies the shipped migrations, and returns the Postgres dialect's store.
 * Closing the store closes the instance it built.
 *
 * PGlite is one connection: a transaction holds it, so other calls on the same instance wait for the
 * transaction to finish instead of running beside it.
 *
 * @throws `VALIDATION` on bad options; `CONNECTION` when the data directory cannot be used (it, or the
 *   directory it would be created in, is missing or not writable)
 */
export async function createPgliteStore(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
  const { dataDir, pglite, ...storeOptions } = options;
  const owned = pglite === undefined;
  let client: PGlite;
  if (pglite !== undefined) client = pglite;
  else {
    const where = checkDataDir(dataDir);
    try {
      client = await PGlite.create(where);
    } catch (error) {
      throw isStrataError(error) ? error : new ConnectionError(`open: PGlite could not start on ${JSON.stringify(where)}`, { cause: error, retryable: false });
    }
  }
  let store: PostgresStore;
  try {
    store = await createDrizzleStore(drizzle(client) as unknown as AnyPgDatabase, storeOptions);
  } catch (error) {
    if (owned) await client.close();
    throw error;
  }
  // Assigned onto the store (not spread) so that its getters, \`db\` with its misuse check, stay getters.
  const closeStore = store.close.bind(store);
  return Object.assign(store, {
    pglite: client,
    async close() {
      await closeStore();
      if (owned && !client.closed) await client.close();
    },
  });
}

/** What `node:fs` and `node:path` offer the data directory check. */
interface FileSystem {
  statSync(path: string, options: { throwIfNoEntry: false }): { isDirectory(): boolean } | undefined;
  accessSync(path: string, mode: number): void;
  constants: { W_OK: number };
}

/**
 * Checks `dataDir` before PGlite boots, so that a bad one is a clear error rather than PGlite's own: a
 * string; for a directory path (not `memory://`, `idb://` or another `scheme://` of PGlite's), that it
 * is a writable directory, or that the directory it would be created in is. The file system is reached
 * through `process.getBuiltinModule`, so that browser bundles never load `node:fs`.
 */
function checkDataDir(dataDir: unknown): string {
  if (dataDir === undefined) return 'memory://';
  if (typeof dataDir !== 'string' || dataDir.length === 0) {
    throw new ValidationError('options.dataDir', "must be a non-empty string: 'memory://', 'idb://name' or a directory path");
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(dataDir)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'file') return dataDir;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as FileSystem | undefined;
  const path = proc?.getBuiltinModule?.('node:path') as { dirname(p: string): string; resolve(p: string): string } | undefined;
  if (fs === undefined || path === undefined) return dataDir;
  const dir = path.resolve(scheme === 'file' ? dataDir.slice('file://'.length) : dataDir);
  const unusable = (why: string) => new ConnectionError(`open: cannot use ${JSON.stringify(dir)} as PGlite's data directory: ${why}`, { retryable: false });
  const writable = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  /** stat, or undefined when nothing is there; any other failure (EACCES on a parent…) is unusable. */
  const statOf = (p: string) => {
    try {
      return fs.statSync(p, { throwIfNoEntry: false });
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      throw unusable(`it cannot be examined${typeof code === 'string' ? ` (${code})` : ''}: check the permissions of the directories above it`);
    }
  };
  const stat = statOf(dir);
  if (stat !== undefined) {
    if (!stat.isDirectory()) throw unusable('it is not a directory');
    if (!writable(dir)) throw unusable('it is not writable');
    return dataDir;
  }
  const parent = path.dirname(dir);
  const parentStat = statOf(parent);
  if (parentStat === undefined || !parentStat.isDirectory())
    throw unusable(`it does not exist, nor does the directory ${JSON.stringify(parent)} it would be created in`);
  if (!writable(parent)) throw unusable(`it does not exist, and the directory ${JSON.stringify(parent)} it would be created in is not writable`);
  return dataDir;
}
