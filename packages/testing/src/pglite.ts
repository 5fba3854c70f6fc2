/**
 * Fresh PGlite stores for tests in milliseconds: one PGlite instance per test worker, booted once, and
 * a schema of its own for each store, migrated the first time and emptied for reuse afterwards.
 *
 * @example
 * ```ts
 * import { pgliteStores } from '@strata/testing/pglite'
 *
 * const stores = pgliteStores()
 * const store = await stores.fresh() // empty and migrated
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }])
 * await store.close() // its schema is emptied for the next fresh()
 * await stores.close() // closes PGlite
 * ```
 *
 * @packageDocumentation
 */
import { PGlite } from '@electric-sql/pglite';
import { createPgliteStore, type PgliteStore, type PgliteStoreOptions } from '@strata/pglite';
import { leasedStores } from './leases.js';
import { SchemaPool } from './schema-pool.js';
import type { TestStores } from './stores.js';

/** Store options a test may set on a PGlite test store: everything but where its data lives. */
export type PgliteTestStoreOptions = Omit<PgliteStoreOptions, 'pglite' | 'dataDir' | 'schema' | 'migrate'>;

/** Options of {@link pgliteStores}. */
export interface PgliteStoresOptions {
  /** Prefix of the schemas the stores get (`<prefix>_1`, `<prefix>_2`…). @defaultValue `'strata_test'` */
  schemaPrefix?: string;
  /**
   * Keep PGlite's freshly initialised data directory in the system's temporary directory, one per
   * installed PGlite, and boot from it: about half of PGlite's start-up time in every test file after
   * the first. Node.js only (in a browser nothing is cached). @defaultValue true
   */
  cacheDataDir?: boolean;
}

interface Instance {
  pglite: PGlite;
  pool: SchemaPool;
}

/**
 * A source of isolated PGlite stores. PGlite boots (about a second, more on a busy machine) at the first
 * {@link TestStores.fresh}; after that a store costs a few milliseconds: each gets a schema no open store
 * uses, and closing it empties the schema (tables truncated, sequences restarted, tables and views the
 * test added dropped) for the next one. Tests that run concurrently get different schemas of the same
 * instance. If a test closes the PGlite instance itself (`store.pglite.close()`), the next store comes
 * from a new one.
 *
 * A sibling is a second store object on the same instance and schema (PGlite is one connection).
 */
export function pgliteStores(options: PgliteStoresOptions = {}): TestStores<PgliteStore, PgliteTestStoreOptions> {
  const prefix = options.schemaPrefix ?? 'strata_test';
  let instance: Promise<Instance> | undefined;
  const cache = options.cacheDataDir === false ? undefined : dataDirCache();
  const boot = async (): Promise<Instance> => {
    const pglite = await bootPglite(cache);
    return {
      pglite,
      pool: new SchemaPool(
        {
          query: async (text, params) => (await pglite.query<never>(text, params)).rows,
          script: async (text) => {
            await pglite.exec(text);
          },
        },
        prefix,
      ),
    };
  };
  const current = async (): Promise<Instance> => {
    let live = instance === undefined ? undefined : await instance.catch(() => undefined);
    if (live === undefined || live.pglite.closed) {
      instance = boot();
      live = await instance;
    }
    return live;
  };
  return leasedStores({
    adapter: 'pglite',
    prepare: current,
    async open(storeOptions) {
      const live = await current();
      const { schema, reused } = live.pool.take();
      const store = await createPgliteStore({ ...storeOptions, pglite: live.pglite, schema, migrate: !reused });
      if (!reused) await live.pool.learn(schema);
      return { store, handle: { live, schema } };
    },
    sibling: ({ live, schema }, storeOptions) => createPgliteStore({ ...storeOptions, pglite: live.pglite, schema, migrate: false }),
    async release({ live, schema }) {
      if (live.pglite.closed) {
        // A test closed the instance: boot the next one now, while the runner moves on.
        current().catch(() => undefined);
        return;
      }
      // A schema that cannot be emptied is not handed out again.
      await live.pool.giveBack(schema).catch(() => undefined);
    },
    async shutdown() {
      const live = await instance?.catch(() => undefined);
      if (live !== undefined && !live.pglite.closed) await live.pglite.close();
    },
  });
}

/** The Node.js modules the data directory cache needs; absent in a browser, where nothing is cached. */
interface NodeModules {
  fs: typeof import('node:fs');
  os: typeof import('node:os');
  path: typeof import('node:path');
  crypto: typeof import('node:crypto');
  url: typeof import('node:url');
}

/** Reached through `process.getBuiltinModule`, so that this module bundles for the browser as it is. */
function nodeModules(): NodeModules | undefined {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (get === undefined) return undefined;
  return {
    fs: get('node:fs') as NodeModules['fs'],
    os: get('node:os') as NodeModules['os'],
    path: get('node:path') as NodeModules['path'],
    crypto: get('node:crypto') as NodeModules['crypto'],
    url: get('node:url') as NodeModules['url'],
  };
}

interface Cache {
  file: string;
  node: NodeModules;
}

/** Where the initialised data directory of the installed PGlite is kept, or undefined when that cannot be told. */
function dataDirCache(): Cache | undefined {
  const node = nodeModules();
  if (node === undefined) return undefined;
  try {
    const main = node.url.fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
    const { size, mtimeMs } = node.fs.statSync(main);
    const key = node.crypto.createHash('sha256').update(`${main}\u0000${size}\u0000${mtimeMs}`).digest('hex').slice(0, 16);
    return { file: node.path.join(node.os.tmpdir(), `strata-testing-pglite-${key}.tar`), node };
  } catch {
    return undefined;
  }
}

/**
 * A new in-memory PGlite: from the cached data directory when there is one, else initialised from
 * scratch, its data directory then cached (written aside and renamed, so that parallel workers never read
 * half a file). A cache that cannot be read is deleted and made again.
 */
async function bootPglite(cache: Cache | undefined): Promise<PGlite> {
  if (cache !== undefined) {
    const { fs } = cache.node;
    let dump: Uint8Array | undefined;
    try {
      dump = new Uint8Array(fs.readFileSync(cache.file));
    } catch {
      // Not made yet.
    }
    if (dump !== undefined) {
      try {
        return await PGlite.create({ loadDataDir: new Blob([dump]) });
      } catch {
        fs.rmSync(cache.file, { force: true });
      }
    }
  }
  const pglite = await PGlite.create();
  if (cache !== undefined) {
    const { fs } = cache.node;
    try {
      const dump = new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer());
      const aside = `${cache.file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      fs.writeFileSync(aside, dump);
      fs.renameSync(aside, cache.file);
    } catch {
      // A cache is only a saving.
    }
  }
  return pglite;
}
