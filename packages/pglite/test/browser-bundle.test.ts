import { fileURLToPath } from 'node:url';
import { build, createLogger, type Rollup } from 'vite';
import { expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Packages of node-postgres and its Drizzle driver: none may reach a browser bundle of `@strata/pglite`. */
const NODE_POSTGRES = /[\\/]node_modules[\\/](pg|pg-pool|pg-protocol|pg-types|pg-connection-string|pgpass)[\\/]|drizzle-orm[\\/]node-postgres[\\/]/;

it('bundles for the browser with no configuration, without node-postgres or Node.js modules of its own', { timeout: 60_000 }, async () => {
  const warnings: string[] = [];
  const logger = createLogger('warn');
  logger.warn = (message) => void warnings.push(message);
  logger.warnOnce = logger.warn;
  // No plugins, no externals, no aliases: Vite's defaults for a browser build. The `@strata/source`
  // condition only points the workspace packages at their TypeScript sources, as in every test here.
  const result = await build({
    root: fixtures,
    configFile: false,
    customLogger: logger,
    logLevel: 'warn',
    resolve: { conditions: ['@strata/source', 'module', 'browser', 'production'] },
    build: { write: false, rolldownOptions: { input: `${fixtures}browser-entry.ts` } },
  });
  const output = (Array.isArray(result) ? result[0] : result) as Rollup.RolldownOutput;
  const modules = output.output.flatMap((o) => (o.type === 'chunk' ? o.moduleIds : []));
  expect(modules.some((m) => m.endsWith('packages/pglite/src/index.ts'))).toBe(true);
  expect(modules.some((m) => m.includes('@electric-sql/pglite'))).toBe(true);
  expect(modules.filter((m) => NODE_POSTGRES.test(m))).toEqual([]);
  expect(modules.filter((m) => m.endsWith('packages/postgres/src/connect.ts'))).toEqual([]);
  // Vite stubs out a Node.js built-in a browser bundle imports, and says so: only PGlite's own
  // Emscripten loader does (behind its Node.js check), never Strata's code.
  const externalized = warnings.filter((w) => w.includes('externalized for browser compatibility'));
  expect(externalized.filter((w) => !/imported by "[^"]*[\\/]@electric-sql[\\/]pglite[\\/]dist[\\/]/.test(w))).toEqual([]);
});
