import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

const shim = (name: string) => fileURLToPath(new URL(`./src/node-shims/${name}.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // In this repository, the workspace packages resolve to their TypeScript sources (no build first).
    // An application installing @strata/pglite from npm needs none of this.
    conditions: ['@strata/source', ...defaultClientConditions],
    // For the conformance page only: the suite's helpers use Node's assert, util, v8 and vm.
    alias: {
      'node:assert/strict': shim('assert'),
      'node:util': shim('util'),
      'node:v8': shim('v8'),
      'node:vm': shim('vm'),
    },
  },
  // PGlite loads its WebAssembly and data files next to its own module: the dev server must serve
  // the package as it is rather than pre-bundle it.
  optimizeDeps: { exclude: ['@electric-sql/pglite'] },
  build: {
    rolldownOptions: {
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        conformance: fileURLToPath(new URL('./conformance.html', import.meta.url)),
      },
    },
  },
});
