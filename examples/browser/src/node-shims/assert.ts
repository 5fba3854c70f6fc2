/**
 * The part of `node:assert/strict` the conformance suite uses, for the conformance page: the suite's
 * helpers import Node's module, which browsers do not have. Equality is Node's strict kind: `equal` is
 * `Object.is`, `deepEqual` compares prototypes, own keys (symbols too), dates, maps, sets and typed
 * arrays, as `assert.deepStrictEqual` does.
 *
 * @module
 */

/** A failed assertion. */
export class AssertionError extends Error {
  /** Node's code for a failed assertion. */
  readonly code = 'ERR_ASSERTION';
  constructor(options: { message?: string }) {
    super(options.message ?? 'assertion failed');
    this.name = 'AssertionError';
  }
}

function fail(message: string | Error = 'Failed'): never {
  throw message instanceof Error ? message : new AssertionError({ message });
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

function ok(value: unknown, message?: string | Error): asserts value {
  if (!value) fail(message ?? `expected a truthy value, got ${describe(value)}`);
}

function equal(actual: unknown, expected: unknown, message?: string | Error): void {
  if (!Object.is(actual, expected)) fail(message ?? `expected ${describe(actual)} to be ${describe(expected)}`);
}

function notEqual(actual: unknown, expected: unknown, message?: string | Error): void {
  if (Object.is(actual, expected)) fail(message ?? `expected a value other than ${describe(expected)}`);
}

function match(text: string, pattern: RegExp, message?: string | Error): void {
  if (typeof text !== 'string' || !pattern.test(text)) fail(message ?? `expected a string matching ${pattern}`);
}

function doesNotMatch(text: string, pattern: RegExp, message?: string | Error): void {
  if (typeof text !== 'string' || pattern.test(text)) fail(message ?? `expected a string not matching ${pattern}`);
}

/** Strict deep equality; `seen` pairs objects already being compared, for cycles. */
function same(a: unknown, b: unknown, seen: Map<object, object>): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Object.prototype.toString.call(a) !== Object.prototype.toString.call(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime()) && sameKeys(a, b, seen);
  if (a instanceof RegExp) return String(a) === String(b) && a.lastIndex === (b as RegExp).lastIndex && sameKeys(a, b, seen);
  if (a instanceof Error && (a.message !== (b as Error).message || a.name !== (b as Error).name)) return false;
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array((b as ArrayBufferView).buffer, (b as ArrayBufferView).byteOffset, (b as ArrayBufferView).byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]) && sameKeys(a, b, seen, true);
  }
  if (a instanceof Map) {
    const other = b as Map<unknown, unknown>;
    if (a.size !== other.size) return false;
    for (const [key, value] of a) {
      if (!other.has(key) || !same(value, other.get(key), seen)) return false;
    }
    return sameKeys(a, b, seen);
  }
  if (a instanceof Set) {
    const other = b as Set<unknown>;
    if (a.size !== other.size) return false;
    const rest = [...other].filter((v) => !a.has(v));
    for (const value of a) {
      if (other.has(value)) continue;
      const found = rest.findIndex((v) => same(value, v, seen));
      if (found < 0) return false;
      rest.splice(found, 1);
    }
    return sameKeys(a, b, seen);
  }
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  return sameKeys(a, b, seen);
}

/** Same own enumerable keys (strings and symbols) with deeply equal values. */
function sameKeys(a: object, b: object, seen: Map<object, object>, skipIndices = false): boolean {
  const keysOf = (o: object) =>
    Reflect.ownKeys(o).filter((k) => Object.prototype.propertyIsEnumerable.call(o, k) && !(skipIndices && typeof k === 'string' && /^\d+$/.test(k)));
  const ka = keysOf(a);
  const kb = keysOf(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) => Object.prototype.propertyIsEnumerable.call(b, k) && same((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k], seen),
  );
}

function deepEqual(actual: unknown, expected: unknown, message?: string | Error): void {
  if (!same(actual, expected, new Map())) fail(message ?? `expected ${describe(actual)} to deeply equal ${describe(expected)}`);
}

async function rejects(action: Promise<unknown> | (() => Promise<unknown>), check?: (error: unknown) => boolean, message?: string): Promise<void> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    if (check !== undefined && !check(error)) fail(message ?? 'the rejection did not pass the check');
    return;
  }
  fail(message ?? 'expected a rejection');
}

/** `node:assert/strict`'s default export, as far as the suite uses it. */
const assert = Object.assign((value: unknown, message?: string | Error) => ok(value, message), {
  AssertionError,
  ok,
  equal,
  notEqual,
  deepEqual,
  match,
  doesNotMatch,
  fail,
  rejects,
  strict: undefined as unknown,
});
assert.strict = assert;

export default assert;
