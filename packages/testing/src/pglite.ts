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
   * Keep PGlite's freshly initialised data directory in a directory of the user's own in the system's
   * temporary directory (`strata-testing-<uid>`, 40 MB per PGlite version), and boot from it: about half
   * of PGlite's start-up time in every test file after the first. Node.js only (in a browser nothing is
   * cached). @defaultValue true
   */
  cacheDataDir?: boolean;
}

interface Instance {
  pglite: PGlite;
  pool: SchemaPool;
  /** Set when a reset failed or hung: no store is made on it again. */
  abandoned?: boolean;
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
    const pool = new SchemaPool(
      {
        query: async (text, params) => (await pglite.query<never>(text, params)).rows,
        script: async (text) => {
          await pglite.exec(text);
        },
      },
      prefix,
    );
    try {
      // The first schema is migrated now, so that the first test does not pay for it.
      const { schema } = pool.take();
      await (await createPgliteStore({ pglite, schema })).close();
      await pool.learn(schema);
      await pool.giveBack(schema);
    } catch (error) {
      await pglite.close().catch(() => undefined);
      throw error;
    }
    return { pglite, pool };
  };
  let stopped = false;
  /** The live instance; a new one when a test closed it, or when it was abandoned. Concurrent callers share one boot. */
  const current = async (): Promise<Instance> => {
    const pending = instance;
    const live = pending === undefined ? undefined : await pending.catch(() => undefined);
    if (live !== undefined && !live.pglite.closed && !live.abandoned) return live;
    if (instance === pending) instance = boot();
    return instance as Promise<Instance>;
  };
  return leasedStores({
    adapter: 'pglite',
    prepare: current,
    async open(storeOptions) {
      const live = await current();
      const { schema, reused } = live.pool.take();
      let store: PgliteStore;
      try {
        store = await createPgliteStore({ ...storeOptions, pglite: live.pglite, schema, migrate: !reused });
      } catch (error) {
        if (reused) live.pool.putBack(schema);
        throw error;
      }
      if (!reused) {
        try {
          await live.pool.learn(schema);
        } catch (error) {
          await store.close().catch(() => undefined);
          throw error;
        }
      }
      return { store, handle: { live, schema } };
    },
    sibling: ({ live, schema }, storeOptions) => createPgliteStore({ ...storeOptions, pglite: live.pglite, schema, migrate: false }),
    async release({ live, schema }) {
      if (live.pglite.closed) {
        // A test closed the instance: boot the next one now, while the runner moves on.
        if (!stopped) current().catch(() => undefined);
        return;
      }
      await live.pool.giveBack(schema);
    },
    abandon({ live }) {
      // The reset failed or hangs (a test left a transaction open on the one connection): the instance is
      // not used again; the next store comes from a new one. Its close is not awaited: it may never end.
      live.abandoned = true;
      live.pglite.close().catch(() => undefined);
    },
    async shutdown() {
      stopped = true;
      const live = await instance?.catch(() => undefined);
      if (live !== undefined && !live.pglite.closed && !live.abandoned) await live.pglite.close();
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

/**
 * Where the initialised data directory of the installed PGlite is kept (a directory of the user's own
 * in the temporary directory, keyed by PGlite's version and the sizes of its WebAssembly and data files),
 * or undefined when that cannot be told. Caches of other PGlite installs older than a week are deleted.
 */
function dataDirCache(): Cache | undefined {
  const node = nodeModules();
  if (node === undefined) return undefined;
  const { fs, path } = node;
  try {
    let root = path.dirname(node.url.fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
    while (!fs.existsSync(path.join(root, 'package.json'))) root = path.dirname(root);
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const sizes = ['pglite.wasm', 'pglite.data', 'initdb.wasm'].map((f) => fs.statSync(path.join(root, 'dist', f)).size);
    const key = node.crypto
      .createHash('sha256')
      .update(`${version}\u0000${sizes.join(',')}`)
      .digest('hex')
      .slice(0, 16);
    const uid = process.getuid?.() ?? 'user';
    const dir = path.join(node.os.tmpdir(), `strata-testing-${uid}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Another user's directory, or one anyone can write to, is not trusted with what PGlite boots from.
    const stat = fs.statSync(dir);
    if ((process.getuid !== undefined && stat.uid !== process.getuid()) || (stat.mode & 0o022) !== 0) return undefined;
    const file = path.join(dir, `pglite-${key}.tar`);
    for (const other of fs.readdirSync(dir)) {
      const old = path.join(dir, other);
      if (old !== file && Date.now() - fs.statSync(old).mtimeMs > 7 * 24 * 3600_000) fs.rmSync(old, { force: true });
    }
    return { file, node };
  } catch {
    return undefined;
  }
}

/** Whether `bytes` looks like a whole tar archive (what `dumpDataDir('none')` writes): its magic, and a size in whole blocks. */
function looksLikeTar(bytes: Uint8Array): boolean {
  const magic = new TextDecoder().decode(bytes.subarray(257, 262));
  return magic === 'ustar' && bytes.length % 512 === 0 && bytes.length >= 1024;
}

/**
 * A new in-memory PGlite: from the cached data directory when there is one, else initialised from
 * scratch, its data directory then cached (written aside and renamed, so that parallel workers never read
 * half a file). A cache that is not a whole archive, or that PGlite cannot boot from, is replaced.
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
    if (dump !== undefined && looksLikeTar(dump)) {
      try {
        return await PGlite.create({ loadDataDir: new Blob([dump]) });
      } catch {
        // Made again below.
      }
    }
  }
  const pglite = await PGlite.create();
  if (cache !== undefined) {
    const { fs } = cache.node;
    try {
      const dump = new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer());
      const aside = `${cache.file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      fs.writeFileSync(aside, dump, { mode: 0o600 });
      fs.renameSync(aside, cache.file);
    } catch {
      // A cache is only a saving.
    }
  }
  return pglite;
}
