/**
 * `node:v8` for the conformance page: the suite asks for `--expose-gc` when `gc` is missing; in the
 * browser, start Chromium with `--js-flags=--expose-gc` instead (the test does).
 *
 * @module
 */

/** Does nothing: V8's flags are Chromium's command line here. */
export function setFlagsFromString(_flags: string): void {}
