/**
 * `node:vm` for the conformance page: the suite only evaluates `gc` with it.
 *
 * @module
 */

/** Returns the global named by `code` (`gc`), or throws when the browser does not expose it. */
export function runInNewContext(code: string): unknown {
  const value = (globalThis as Record<string, unknown>)[code];
  if (value === undefined) throw new Error(`${code} is not exposed: start Chromium with --js-flags=--expose-gc`);
  return value;
}
